using StreamMl.Operators.Learners;
using StreamMl.Operators.Tests.Learners;

namespace StreamMl.Operators.Tests.Encodings;

public sealed class EncodingGraphTests
{
    /// <summary>Credit rows with a 300-category column whose effect on default is real (categories below 100 raise it),
    /// appended as the last feature; EDUCATION (feature 2) is a category column too.</summary>
    private static TrainingSet WithCity(int rows, int seed)
    {
        var credit = LearnerTestData.Head(LearnerTestData.Credit, rows);
        var random = new Random(seed);
        var width = credit.FeatureCount + 1;
        var features = new float[credit.Rows * width];
        var labels = (float[])credit.Labels.Clone();
        for (var r = 0; r < credit.Rows; r++)
        {
            credit.Row(r).CopyTo(features.AsSpan(r * width));
            var city = random.Next(300);
            features[r * width + width - 1] = city;
            if (city < 100 && random.NextDouble() < 0.3) labels[r] = 1;
        }
        return new TrainingSet(features, width, labels, [.. credit.FeatureNames, "city:code"]);
    }

    [Theory]
    [InlineData("lightgbm", CategoryEncodingKind.Target)]
    [InlineData("lr", CategoryEncodingKind.Target)]
    [InlineData("lr", CategoryEncodingKind.Frequency)]
    public void The_encoding_is_in_the_onnx_graph_and_serving_matches_training_within_1e6(string trainer, CategoryEncodingKind kind)
    {
        var set = WithCity(3000, 4);
        var train = set.Subset(Enumerable.Range(0, 2000).ToArray());
        var test = set.Subset(Enumerable.Range(2000, 1000).ToArray());
        // Categories the fit never saw: a code outside the fitted ones in each encoded column.
        for (var r = 0; r < 50; r++)
        {
            test.Features[r * test.FeatureCount + 2] = 77;
            test.Features[r * test.FeatureCount + test.FeatureCount - 1] = 5000 + r;
        }
        var learner = new EncodingLearner(new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = trainer, NumberOfTrees = 40, Threads = 1 }),
            [2, set.FeatureCount - 1], kind, smoothing: 10);
        var model = learner.Fit(train);
        var inMemory = model.Predict(test);
        using var buffer = new MemoryStream();
        model.ExportOnnx(buffer);
        using var onnx = OnnxMatrixModel.Load(buffer.ToArray(), "encoded model");
        Assert.Equal(set.FeatureCount, onnx.FeatureCount);
        var served = onnx.Predict(test, LearningTask.Binary);
        for (var r = 0; r < test.Rows; r++)
            Assert.True(Math.Abs(served[r] - inMemory[r]) <= 1e-6, $"row {r}: onnx {served[r]} in memory {inMemory[r]}");
    }
}
