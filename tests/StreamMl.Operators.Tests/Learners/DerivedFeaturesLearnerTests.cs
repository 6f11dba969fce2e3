using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

/// <summary>Derived features inside a model: the appended columns against plain float arithmetic, the fitted model
/// against a model fitted on a matrix with the same columns written here, and the exported ONNX graph (Gather, Div/Mul/
/// Add/Sub, IsInf, Where) in ONNX Runtime against the in-memory model within 1e-5, on rows with division by zero.</summary>
public sealed class DerivedFeaturesLearnerTests
{
    private static readonly DerivedFeature[] s_housingRatios =
    [
        DerivedFeature.Parse("rooms_per_household", "total_rooms / households"),
        DerivedFeature.Parse("bedrooms_per_room", "total_bedrooms / total_rooms"),
        DerivedFeature.Parse("people_per_household", "population / households"),
        DerivedFeature.Parse("income_thousands", "median_income * 1000"),
        DerivedFeature.Parse("rotated", "latitude - longitude"),
        DerivedFeature.Parse("age_plus_one", "housing_median_age + 1"),
    ];

    // The matrix with the six columns appended, by plain arithmetic: what the learner must compute.
    private static TrainingSet PlainAppend(TrainingSet set)
    {
        int F(string name) => set.FeatureNames.ToList().IndexOf(name);
        var width = set.FeatureCount + 6;
        var m = new float[set.Rows * width];
        for (var r = 0; r < set.Rows; r++)
        {
            var row = set.Row(r);
            row.CopyTo(m.AsSpan(r * width));
            float[] derived =
            [
                row[F("total_rooms")] / row[F("households")],
                row[F("total_bedrooms")] / row[F("total_rooms")],
                row[F("population")] / row[F("households")],
                row[F("median_income")] * 1000f,
                row[F("latitude")] - row[F("longitude")],
                row[F("housing_median_age")] + 1f,
            ];
            for (var d = 0; d < 6; d++) m[r * width + set.FeatureCount + d] = float.IsFinite(derived[d]) ? derived[d] : float.NaN;
        }
        return new TrainingSet(m, width, set.Labels, [.. set.FeatureNames, .. s_housingRatios.Select(f => f.Name)]);
    }

    private static (TrainingSet Train, TrainingSet Test) Housing()
    {
        var set = LearnerTestData.Head(LearnerTestData.Housing, 3000);
        var train = set.Subset(Enumerable.Range(0, 2000).ToArray());
        var test = set.Subset(Enumerable.Range(2000, 1000).ToArray());
        // Division by zero in served rows: households 0 makes two derived features missing.
        var households = test.FeatureNames.ToList().IndexOf("households");
        for (var r = 0; r < 40; r++) test.Features[r * test.FeatureCount + households] = 0f;
        return (train, test);
    }

    [Fact]
    public void Appended_columns_equal_plain_arithmetic_and_the_model_equals_one_fitted_on_them()
    {
        var (train, test) = Housing();
        var options = new LearnerOptions { Trainer = "lightgbm", NumberOfTrees = 30, Threads = 1, Seed = 3 };
        var learner = new DerivedFeaturesLearner(new MlNetLearner(LearningTask.Regression, options), s_housingRatios, train.FeatureNames);
        var appended = learner.Append(test);
        var expected = PlainAppend(test);
        Assert.Equal(expected.FeatureNames, appended.FeatureNames);
        for (var i = 0; i < expected.Features.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected.Features[i]) == BitConverter.SingleToInt32Bits(appended.Features[i])
                || (float.IsNaN(expected.Features[i]) && float.IsNaN(appended.Features[i])), $"value {i}: {expected.Features[i]} vs {appended.Features[i]}");
        Assert.Contains(appended.Features, float.IsNaN);

        var derived = learner.Fit(train).Predict(test);
        var plain = new MlNetLearner(LearningTask.Regression, options).Fit(PlainAppend(train)).Predict(PlainAppend(test));
        for (var r = 0; r < test.Rows; r++) Assert.True(Math.Abs(derived[r] - plain[r]) <= 1e-6, $"row {r}: {derived[r]} vs {plain[r]}");
    }

    [Theory]
    [InlineData("lightgbm", LearningTask.Regression)]
    [InlineData("fasttree", LearningTask.Regression)]
    [InlineData("sdca", LearningTask.Regression)]
    public void The_onnx_graph_takes_the_matrix_without_derived_columns_and_matches_within_1e5(string trainer, LearningTask task)
    {
        var (train, test) = Housing();
        if (trainer == "sdca")
        {
            // A linear model needs values, not missing ones: no zero denominators in its rows.
            var households = test.FeatureNames.ToList().IndexOf("households");
            for (var r = 0; r < 40; r++) test.Features[r * test.FeatureCount + households] = 1f;
        }
        var learner = new DerivedFeaturesLearner(
            new MlNetLearner(task, new LearnerOptions { Trainer = trainer, NumberOfTrees = 40, Threads = 1, Seed = 3 }), s_housingRatios, train.FeatureNames);
        var model = learner.Fit(train);
        var inMemory = model.Predict(test);
        using var buffer = new MemoryStream();
        model.ExportOnnx(buffer);
        var graph = StreamMl.OnnxFormat.ModelProto.Parser.ParseFrom(buffer.ToArray()).Graph;
        foreach (var op in new[] { "Div", "Mul", "Add", "Sub", "IsInf", "Where", "Gather", "Concat" })
            Assert.Contains(graph.Node, n => n.OpType == op);
        // The derive graph's constants are initialisers only (ONNX Runtime warns about initialisers declared as inputs).
        Assert.DoesNotContain(graph.Input, i => i.Name.StartsWith("derive_", StringComparison.Ordinal));
        using var onnx = OnnxMatrixModel.Load(buffer.ToArray(), "derived model");
        Assert.Equal(train.FeatureCount, onnx.FeatureCount);
        var served = onnx.Predict(test, task);
        for (var r = 0; r < test.Rows; r++)
        {
            var tolerance = 1e-5 * Math.Max(1, Math.Abs(inMemory[r]));
            Assert.True(Math.Abs(served[r] - inMemory[r]) <= tolerance || (float.IsNaN(served[r]) && float.IsNaN(inMemory[r])),
                $"row {r}: onnx {served[r]} in memory {inMemory[r]}");
        }
    }

    [Fact]
    public void Unknown_operands_and_taken_names_are_refused()
    {
        var names = new[] { "total_rooms", "households" };
        var inner = new MlNetLearner(LearningTask.Regression, new LearnerOptions { Trainer = "lightgbm" });
        var unknown = Assert.Throws<StreamMlException>(() => new DerivedFeaturesLearner(inner, [DerivedFeature.Parse("r", "total_rooms / houses")], names));
        Assert.Contains("'houses', which is not a feature", unknown.Message);
        var taken = Assert.Throws<StreamMlException>(() => new DerivedFeaturesLearner(inner, [DerivedFeature.Parse("households", "total_rooms * 2")], names));
        Assert.Contains("already a feature", taken.Message);
    }
}
