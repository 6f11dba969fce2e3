using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

/// <summary>Cross-validation folds and search trials fit LightGBM through its C API (<see cref="MlNetLearner.FitToPredict"/>);
/// the final model is fitted by ML.NET. These tests hold the two to the same model: same trees chosen, same predictions.</summary>
public sealed class NativeLightGbmTests
{
    public static TheoryData<LearningTask, int?, bool, bool> Cases => new()
    {
        // task, early stopping rounds, class weights, hyper-parameters left to ML.NET's defaults
        { LearningTask.Binary, 10, false, false },
        { LearningTask.Binary, null, false, false },
        { LearningTask.Binary, 10, true, false },
        { LearningTask.Binary, null, false, true },
        { LearningTask.Regression, 10, false, false },
        { LearningTask.Regression, null, false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_model_fitted_to_predict_predicts_what_MlNet_fits(LearningTask task, int? earlyStopping, bool weighted, bool defaults)
    {
        var data = LearnerTestData.Head(task == LearningTask.Binary ? LearnerTestData.Credit : LearnerTestData.Housing, 4000);
        var train = data.Subset(Enumerable.Range(0, 3000).ToArray());
        if (weighted) train = train.WithWeights(Resamplers.BalancedWeights(train));
        var test = data.Subset(Enumerable.Range(3000, 1000).ToArray());
        var options = defaults
            ? new LearnerOptions { Trainer = "lightgbm", Threads = 1, Seed = 7 }
            : new LearnerOptions
            {
                Trainer = "lightgbm", NumberOfTrees = 300, NumberOfLeaves = 12, LearningRate = 0.1, MinimumExampleCountPerLeaf = 30,
                FeatureFraction = 0.6, L2Regularization = 2f, EarlyStoppingRounds = earlyStopping, Threads = 1, Seed = 7,
            };
        var learner = new MlNetLearner(task, options);

        var mlNet = learner.Fit(train);
        var native = learner.FitToPredict(train);

        Assert.IsNotType(mlNet.GetType(), native);
        Assert.Equal(mlNet.Trees, native.Trees);
        if (earlyStopping is not null) Assert.InRange(native.Trees!.Value, 1, 299);
        var expected = mlNet.Predict(test);
        var actual = native.Predict(test);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"row {i}: ML.NET {expected[i]}, native {actual[i]}");
    }

    [Fact]
    public void Rows_with_a_missing_value_are_scored_as_MlNet_scores_them()
    {
        var data = LearnerTestData.Head(LearnerTestData.Credit, 4000);
        var train = data.Subset(Enumerable.Range(0, 3000).ToArray());
        var test = data.Subset(Enumerable.Range(3000, 1000).ToArray());
        // Every 7th row misses its credit limit (feature 0); training rows have none.
        for (var r = 0; r < test.Rows; r += 7) test.Features[r * test.FeatureCount] = float.NaN;
        var learner = new MlNetLearner(LearningTask.Binary, new LearnerOptions { NumberOfTrees = 50, NumberOfLeaves = 8, Threads = 1 });

        var expected = learner.Fit(train).Predict(test);
        var actual = learner.FitToPredict(train).Predict(test);

        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void Fold_models_are_not_exported()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 500);
        var model = new MlNetLearner(LearningTask.Binary, new LearnerOptions { NumberOfTrees = 5, Threads = 1 }).FitToPredict(set);
        var error = Assert.Throws<StreamMl.Engine.StreamMlException>(() => model.ExportOnnx(new MemoryStream()));
        Assert.Contains("not exported", error.Message);
    }
}
