using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class TreeEnsembleScorerTests
{
    [Theory]
    [InlineData(LearningTask.Binary, false)]
    [InlineData(LearningTask.Regression, false)]
    [InlineData(LearningTask.Binary, true)]
    public void Scores_from_the_trees_equal_mlnet_scores(LearningTask task, bool withMissingValues)
    {
        var set = LearnerTestData.Head(task == LearningTask.Binary ? LearnerTestData.Credit : LearnerTestData.Housing, 2000);
        var model = (MlNetModel)new MlNetLearner(task, new LearnerOptions { NumberOfTrees = 60, NumberOfLeaves = 31, Threads = 1 }).Fit(set);
        if (withMissingValues)
        {
            var features = (float[])set.Features.Clone();
            for (var i = 0; i < features.Length; i += 7) features[i] = float.NaN;
            set = new TrainingSet(features, set.FeatureCount, set.Labels, set.FeatureNames);
        }
        var context = new MLContext(1);
        var scored = model.Transformer.Transform(MlNetLearner.ToDataView(context, set, task == LearningTask.Binary ? 2 : 1, withLabel: false));
        var expected = scored.GetColumn<float>(task == LearningTask.Binary ? "Probability" : "Score").ToArray();
        var actual = model.Predict(set);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"row {i}: ML.NET {expected[i]} vs trees {actual[i]}");
    }
}
