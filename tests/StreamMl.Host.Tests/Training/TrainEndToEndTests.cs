using System.Text.Json;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Tests.Training;

public sealed class TrainEndToEndTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Credit_default_trains_registers_and_scores_the_same_through_a_streaming_pipeline()
    {
        var spec = TrainSpec.Load(TrainingTestData.CreditSpec(_folder, "imbalance: { resample: smote }\nthreshold: { objective: maxF1 }"));
        var report = await TrainingRunner.RunAsync(spec);

        Assert.True(report.Promoted);
        Assert.Equal(ModelStage.Production, report.Version.Stage);
        Assert.True(report.OnnxParity <= 1e-5);
        Assert.InRange(report.CrossValidation.Validation[MetricNames.RocAuc].Mean, 0.70, 0.85);
        Assert.Equal(3, report.CrossValidation.Folds.Count);
        // Stratified folds: every validation fold has the training split's positive rate to within a row.
        Assert.NotNull(report.Threshold);

        // The registered version is complete and its profile and schema are readable by their own readers.
        var registry = new ModelRegistry(Path.Combine(_folder, "models"));
        var version = registry.Open("credit", report.Version.Version);
        var profile = ReferenceProfile.FromJson(File.ReadAllText(version.PathOf(ModelPackage.ProfileFile)));
        Assert.Contains(profile.Features, f => f.Name == "LIMIT_BAL");
        using var schema = JsonDocument.Parse(File.ReadAllBytes(version.PathOf(ModelPackage.SchemaFile)));
        Assert.Equal(23, schema.RootElement.GetProperty("inputs").GetArrayLength());
        Assert.DoesNotContain(schema.RootElement.GetProperty("inputs").EnumerateArray(), i => i.GetProperty("name").GetString() == "ID");
        Assert.Equal(64, version.Manifest.Data!.Sha256.Length);
        Assert.Equal(report.Threshold!.Threshold, version.Manifest.Threshold);

        // The same held-out rows, read again and scored by the registered model through the engine pipeline, give the
        // final model's ML.NET predictions.
        using var model = RegisteredModel.Load(version);
        var table = (await DataTableReader.ReadAsync(TrainingTestData.Credit, 3000, CancellationToken.None)).Table;
        var rowOfLine = Enumerable.Range(0, table.Rows).ToDictionary(r => table.LineNumbers[r]);
        var rows = report.HeldOutLines.Select(line => rowOfLine[line]).ToArray();
        var streamed = await StreamingEvaluator.RunAsync(model, table, rows, CancellationToken.None);
        Assert.Equal(report.HeldOutLines, streamed.Lines);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.True(Math.Abs(streamed.Scores[i] - report.HeldOutPredictions[i]) <= 1e-5, $"line {report.HeldOutLines[i]}");
            Assert.Equal(streamed.Scores[i] >= report.Threshold.Threshold ? 1f : 0f, streamed.Predictions[i]);
        }
        Assert.Empty(streamed.DeadLetters);
    }

    [Fact]
    public async Task Housing_regression_trains_with_missing_values_and_a_text_column()
    {
        var path = TrainingTestData.Write(_folder, "housing.yaml", $"""
            name: housing
            data: {"{"} path: {TrainingTestData.Housing}, limit: 3000 {"}"}
            target: median_house_value
            task: regression
            trainer: lightgbm
            hyperparameters: {"{"} trees: 40, leaves: 31 {"}"}
            validation: {"{"} folds: 3, holdout: 0.2 {"}"}
            registry: {"{"} path: {Path.Combine(_folder, "models")} {"}"}
            """);
        var report = await TrainingRunner.RunAsync(TrainSpec.Load(path));
        Assert.Equal(LearningTask.Regression, report.Task);
        // Default features: imputed and scaled numbers, one-hot ocean_proximity (the values in the training split + unknown).
        var categories = File.ReadLines(TrainingTestData.Housing).Skip(1).Take(3000).Select(l => l.Split(',')[9]).Distinct().Count();
        Assert.InRange(report.Features, 8 + 2, 8 + categories + 1);
        var labels = File.ReadLines(TrainingTestData.Housing).Skip(1).Take(3000).Select(l => double.Parse(l.Split(',')[8], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var std = Math.Sqrt(labels.Select(y => (y - labels.Average()) * (y - labels.Average())).Average());
        Assert.True(report.CrossValidation.Validation[MetricNames.Rmse].Mean < 0.6 * std);
        Assert.True(report.OnnxParity <= 1e-5);
        Assert.True(report.Promoted);
    }

    [Fact]
    public async Task A_text_target_trains_a_multiclass_model_that_streams_the_same_classes()
    {
        var path = TrainingTestData.Write(_folder, "proximity.yaml", $"""
            name: proximity
            data: {"{"} path: {TrainingTestData.Housing}, limit: 3000 {"}"}
            target: ocean_proximity
            task: multiclass
            trainer: lightgbm
            hyperparameters: {"{"} trees: 20 {"}"}
            validation: {"{"} folds: 3 {"}"}
            registry: {"{"} path: {Path.Combine(_folder, "models")} {"}"}
            """);
        var report = await TrainingRunner.RunAsync(TrainSpec.Load(path));
        Assert.Equal(LearningTask.Multiclass, report.Task);
        Assert.True(report.OnnxParity <= 1e-5);
        var classes = report.HeldOut.ConfusionMatrix!.Length;
        // Location predicts proximity to the ocean well.
        Assert.InRange(report.CrossValidation.Validation[MetricNames.Accuracy].Mean, 0.8, 1.0);

        using var model = RegisteredModel.Load(new ModelRegistry(Path.Combine(_folder, "models")).Open("proximity", 1));
        var table = (await DataTableReader.ReadAsync(TrainingTestData.Housing, 3000, CancellationToken.None)).Table;
        var rowOfLine = Enumerable.Range(0, table.Rows).ToDictionary(r => table.LineNumbers[r]);
        var streamed = await StreamingEvaluator.RunAsync(model, table, report.HeldOutLines.Select(l => rowOfLine[l]).ToArray(), CancellationToken.None);
        for (var i = 0; i < report.HeldOutLines.Count; i++)
        {
            var row = report.HeldOutPredictions.AsSpan(i * classes, classes).ToArray();
            Assert.Equal(Array.IndexOf(row, row.Max()), (int)streamed.Predictions[i]);
        }
    }

    [Fact]
    public void A_challenger_that_does_not_beat_production_stays_a_candidate_with_lineage()
    {
        var registry = Path.Combine(_folder, "models");
        var first = TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, "gates: { championMargin: 0.0 }"));
        Assert.True(first.Exit == 0, first.Error + first.Output);
        Assert.Contains("registered credit v1 (production)", first.Output);

        // A far weaker model (3 stumps) must lose against production on the same held-out rows.
        var weak = TrainingTestData.CreditSpec(_folder, "gates: { championMargin: 0.0 }", trees: 3);
        var second = TrainingTestData.Cli("train", "--spec", weak);
        Assert.Equal(TrainingCommands.GatesFailedExitCode, second.Exit);
        Assert.Contains("gate champion: FAIL", second.Output);
        var reg = new ModelRegistry(registry);
        Assert.Equal(1, reg.Stages("credit").Production);
        Assert.Equal(ModelStage.Candidate, reg.Open("credit", 2).Stage);
        Assert.Equal([2, 1], reg.Lineage("credit", 2).Select(m => m.Version));

        // The CLI lists, promotes and rolls back.
        var list = TrainingTestData.Cli("models", "list", "--registry", registry);
        Assert.Matches(@"v1\s+production", list.Output);
        Assert.Matches(@"v2\s+candidate", list.Output);
        Assert.Equal(0, TrainingTestData.Cli("models", "promote", "credit", "2", "--registry", registry).Exit);
        Assert.Equal(2, reg.Stages("credit").Production);
        var rollback = TrainingTestData.Cli("models", "rollback", "credit", "--registry", registry);
        Assert.Contains("production is version 1", rollback.Output);
        var show = TrainingTestData.Cli("models", "show", "credit", "2", "--registry", registry);
        Assert.Contains("lineage: v2 <- v1", show.Output);
    }

    [Fact]
    public void Evaluate_scores_a_csv_with_the_production_model()
    {
        var registry = Path.Combine(_folder, "models");
        Assert.Equal(0, TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 2000)).Exit);
        var result = TrainingTestData.Cli("evaluate", "--model", "credit", "--data", TrainingTestData.Credit, "--limit", "6000", "--registry", registry);
        Assert.True(result.Exit == 0, result.Error);
        Assert.Contains("6000 rows scored through the streaming pipeline", result.Output);
        var auc = double.Parse(result.Output.Split('\n').Single(l => l.TrimStart().StartsWith("roc_auc", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(auc, 0.70, 0.90);
    }
}
