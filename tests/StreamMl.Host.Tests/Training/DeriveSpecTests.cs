using System.Globalization;
using System.Text;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;
using StreamMl.Operators.Features;

namespace StreamMl.Host.Tests.Training;

/// <summary>`derive: {name: a op b}` in a training spec: the derived features are learned from (a target that is a ratio
/// of two columns is fitted far better with the ratio), they are computed inside the registered model's ONNX graph (the
/// registered feature pipeline has no derived feature), served rows match training within 1e-5 with division by zero
/// among them, and unknown columns and bad expressions are reported at their line and column.</summary>
public sealed class DeriveSpecTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Spec(string csv, string derive) => TrainingTestData.Write(_folder, $"spec-{Guid.NewGuid():N}.yaml", $"""
        name: derived
        data: {"{"} path: {csv}, drop: [id] {"}"}
        target: y
        task: regression
        threads: 1
        {derive}
        trainer: lightgbm
        features: [ {"{"} step: passthrough, columns: [a, b, c] {"}"} ]
        hyperparameters: {"{"} trees: 60, leaves: 16, minLeaf: 10 {"}"}
        validation: {"{"} folds: 5, seed: 7, holdout: 0.2 {"}"}
        gates: {"{"} championMargin: null {"}"}
        registry: {"{"} path: {Path.Combine(_folder, "models")}, promote: never {"}"}
        """);

    /// <summary>y = 5·a/b + c + noise (y = c where b is 0: one row in 50), a and b in [1, 10], so trees on a and b alone
    /// approximate the ratio with a coarse staircase.</summary>
    private string RatioCsv()
    {
        var random = new Random(11);
        var text = new StringBuilder("id,a,b,c,y\n");
        for (var r = 0; r < 2500; r++)
        {
            var a = 1 + random.NextDouble() * 9;
            var b = r % 50 == 0 ? 0 : 1 + random.NextDouble() * 9;
            var c = random.NextDouble();
            var y = (b == 0 ? 0 : 5 * a / b) + c + random.NextDouble() * 0.1;
            text.Append(CultureInfo.InvariantCulture, $"{r},{a:R},{b:R},{c:R},{y:R}\n");
        }
        return TrainingTestData.Write(_folder, "ratio.csv", text.ToString());
    }

    [Fact]
    public async Task The_ratio_is_learned_computed_in_the_onnx_graph_and_served_as_trained_within_1e5()
    {
        var csv = RatioCsv();
        var plain = await TrainingRunner.RunAsync(TrainSpec.Load(Spec(csv, "")));
        var derived = await TrainingRunner.RunAsync(TrainSpec.Load(Spec(csv, "derive: { ratio: a / b }")));
        var plainRmse = plain.CrossValidation.Validation["rmse"].Mean;
        var derivedRmse = derived.CrossValidation.Validation["rmse"].Mean;
        Assert.True(derivedRmse < plainRmse * 0.6, $"cv rmse with the ratio {derivedRmse:F3}, without {plainRmse:F3}");

        var version = new ModelRegistry(Path.Combine(_folder, "models")).Open("derived", derived.Version.Version);
        var features = FeaturePipeline.Load(version.PathOf(ModelPackage.FeaturesFile));
        Assert.DoesNotContain("ratio", features.FeatureNames);
        Assert.DoesNotContain("\"kind\": \"derive\"", File.ReadAllText(version.PathOf(ModelPackage.FeaturesFile)));
        using var model = RegisteredModel.Load(version);
        var table = (await DataTableReader.ReadAsync(csv, 0, CancellationToken.None)).Table;
        var rowOfLine = Enumerable.Range(0, table.Rows).ToDictionary(r => table.LineNumbers[r]);
        var rows = derived.HeldOutLines.Select(line => rowOfLine[line]).ToArray();
        // Held-out rows with b = 0 (every 50th data row, file line = row + 2): the ratio is missing there.
        Assert.Contains(derived.HeldOutLines, line => (line - 2) % 50 == 0);
        var streamed = await StreamingEvaluator.RunAsync(model, table, rows, CancellationToken.None);
        for (var i = 0; i < rows.Length; i++)
            Assert.True(Math.Abs(streamed.Scores[i] - derived.HeldOutPredictions[i]) <= 1e-5 * Math.Max(1, Math.Abs(derived.HeldOutPredictions[i])),
                $"line {derived.HeldOutLines[i]}: served {streamed.Scores[i]}, trained {derived.HeldOutPredictions[i]}");
    }

    [Fact]
    public async Task An_unknown_column_is_reported_at_its_line_and_column()
    {
        var spec = Spec(RatioCsv(), "derive:\n  ratio: a / b\n  wrong: a / bb");
        // The spec's lines: name, data, target, task, threads, derive:, ratio, wrong (line 8), the value at column 10.
        var error = await Assert.ThrowsAsync<StreamMlException>(() => TrainingRunner.RunAsync(TrainSpec.Load(spec)));
        Assert.Contains($"{spec} line 8, column 10: derive.wrong: 'bb' is not a feature (did you mean 'b'?); the features are: a, b, c", error.Message);
    }

    [Theory]
    [InlineData("derive: { ratio: a/b }", "s.yaml line 4, column 18: derive.ratio: 'a/b' is not one operation 'a op b'")]
    [InlineData("derive:\n  ratio: 2 * 3", "s.yaml line 5, column 10: derive.ratio: '2 * 3' names no feature")]
    [InlineData("derive: { ratio: a % b }", "s.yaml line 4, column 18: derive.ratio: 'a % b' is not one operation")]
    public void Bad_expressions_are_named_before_the_data_is_read(string yaml, string expected)
    {
        var message = Assert.Throws<StreamMlException>(() => TrainSpec.Parse("name: m\ndata: { path: d.csv }\ntarget: y\n" + yaml, json: false, "s.yaml")).Message;
        Assert.Contains(expected, message);
    }
}
