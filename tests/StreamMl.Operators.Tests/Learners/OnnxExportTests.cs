using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class OnnxExportTests
{
    public static TheoryData<LearningTask, string> Trainers() => new()
    {
        { LearningTask.Binary, "lr" },
        { LearningTask.Binary, "sdca" },
        { LearningTask.Binary, "fasttree" },
        { LearningTask.Binary, "fastforest" },
        { LearningTask.Binary, "lightgbm" },
        { LearningTask.Regression, "fasttree" },
        { LearningTask.Regression, "fastforest" },
        { LearningTask.Regression, "lightgbm" },
        { LearningTask.Regression, "sdca" },
        { LearningTask.Multiclass, "lr" },
        { LearningTask.Multiclass, "lightgbm" },
    };

    private static TrainingSet SetFor(LearningTask task)
    {
        if (task == LearningTask.Regression) return LearnerTestData.Head(LearnerTestData.Housing, 1500);
        var head = LearnerTestData.Head(LearnerTestData.Credit, 1500);
        if (task == LearningTask.Binary) return head;
        var labels = Enumerable.Range(0, head.Rows).Select(i => head.Labels[i] == 0 ? 0f : head.Row(i)[0] < 100_000 ? 1f : 2f).ToArray();
        return new TrainingSet(head.Features, head.FeatureCount, labels, head.FeatureNames);
    }

    [Theory]
    [MemberData(nameof(Trainers))]
    public void Onnx_runtime_scores_equal_mlnet_scores_within_1e5(LearningTask task, string trainer)
    {
        var set = SetFor(task);
        var model = new MlNetLearner(task, new LearnerOptions { Trainer = trainer, NumberOfTrees = 20, MaximumIterations = 20 }).Fit(set);
        using var stream = new MemoryStream();
        model.ExportOnnx(stream);
        using var onnx = OnnxMatrixModel.Load(stream.ToArray());
        Assert.Equal(set.FeatureCount, onnx.FeatureCount);
        var expected = model.Predict(set);
        var actual = onnx.Predict(set, task);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"row {i}: ML.NET {expected[i]} vs ONNX {actual[i]}");
        Assert.DoesNotContain(onnx.OutputNames, n => n.StartsWith("Features", StringComparison.Ordinal));
    }

    [Fact]
    public void Bytes_that_are_not_onnx_are_refused_with_a_clear_message()
    {
        var error = Assert.Throws<StreamMlException>(() => OnnxMatrixModel.Load("this is a CSV file, not a model"u8.ToArray(), "upload.onnx"));
        Assert.Contains("upload.onnx is not a valid ONNX model", error.Message);
    }

    [Fact]
    public void Unknown_trainer_names_the_valid_ones()
    {
        var error = Assert.Throws<StreamMlException>(() => new MlNetLearner(LearningTask.Regression, new LearnerOptions { Trainer = "ols" }));
        Assert.Contains("fasttree, fastforest, lightgbm, sdca", error.Message);
    }
}
