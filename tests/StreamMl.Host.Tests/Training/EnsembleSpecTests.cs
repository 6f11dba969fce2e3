using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 17: `search: {ensemble: {method, top}}` combines the search's best trials into one model, exported as
/// one ONNX graph that the engine serves like any other, and recorded in the registry.</summary>
public sealed class EnsembleSpecTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("average")]
    [InlineData("stack")]
    public async Task The_best_trials_become_one_registered_graph_served_as_trained(string method)
    {
        var path = TrainingTestData.CreditSpec(_folder, "threads: 1\n"
            + $"search: {{ budget: 8s, trainers: [lightgbm, lr], seed: 3, ensemble: {{ method: {method}, top: 2, stackFolds: 2 }} }}\n"
            + "gates: { championMargin: null }", limit: 1500);
        var report = await TrainingRunner.RunAsync(TrainSpec.Load(path));
        Assert.True(report.OnnxParity <= 1e-5);

        var version = new ModelRegistry(Path.Combine(_folder, "models")).Open("credit", report.Version.Version);
        Assert.Equal("ensemble", version.Manifest.Trainer);
        using var search = JsonDocument.Parse(File.ReadAllText(version.PathOf(TrainingRunner.SearchLogFile)));
        using var ensemble = JsonDocument.Parse(File.ReadAllText(version.PathOf(EnsembleRecord.File)));
        // The members are the best complete trial on every row of each trainer (two trainers, top 2), in rank order.
        var best = search.RootElement.GetProperty("trials").EnumerateArray()
            .Where(t => t.GetProperty("complete").GetBoolean() && t.GetProperty("rowShare").GetDouble() == 1)
            .OrderByDescending(t => t.GetProperty("foldScores").EnumerateArray().Average(s => s.GetDouble()))
            .GroupBy(t => t.GetProperty("trainer").GetString()).Select(g => g.First())
            .Select(t => t.GetProperty("id").GetInt32()).ToArray();
        Assert.Equal(2, best.Length);
        Assert.Equal(best, ensemble.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("trial").GetInt32()).ToArray());
        Assert.Equal(method, ensemble.RootElement.GetProperty("method").GetString());
        if (method == "stack") Assert.Equal(2, ensemble.RootElement.GetProperty("stacker").GetProperty("weights").GetArrayLength());
        else Assert.Equal(JsonValueKind.Null, ensemble.RootElement.GetProperty("stacker").ValueKind);
        Assert.Equal(report.CrossValidation.Validation["roc_auc"].Mean,
            ensemble.RootElement.GetProperty("crossValidation").GetProperty("mean").GetDouble(), 9);

        // The registered graph, run by the engine's scorer after the registered features, gives the in-memory
        // ensemble's held-out predictions.
        using var model = RegisteredModel.Load(version);
        var table = (await DataTableReader.ReadAsync(TrainingTestData.Credit, 1500, CancellationToken.None)).Table;
        var rowOfLine = Enumerable.Range(0, table.Rows).ToDictionary(r => table.LineNumbers[r]);
        var rows = report.HeldOutLines.Select(line => rowOfLine[line]).ToArray();
        var streamed = await StreamingEvaluator.RunAsync(model, table, rows, CancellationToken.None);
        for (var i = 0; i < rows.Length; i++)
            Assert.True(Math.Abs(streamed.Scores[i] - report.HeldOutPredictions[i]) <= 1e-5, $"line {report.HeldOutLines[i]}");
    }

    [Theory]
    [InlineData("task: regression\nsearch: { ensemble: { method: stack } }\n", "search.ensemble.method 'stack' needs a binary target (this is regression); use average")]
    [InlineData("search: { ensemble: { method: vote } }\n", "search.ensemble.method 'vote' is not average or stack")]
    [InlineData("search: { ensemble: { top: 1 } }\n", "search.ensemble.top must be at least 2")]
    [InlineData("search: { ensemble: { members: 3 } }\n", "unknown key 'members' in search.ensemble")]
    public void Bad_ensemble_settings_are_named_before_the_data_is_read(string yaml, string expected)
    {
        var message = Assert.Throws<StreamMlException>(() => TrainSpec.Parse("name: m\ndata: { path: d.csv }\ntarget: y\n" + yaml, json: false, "s.yaml")).Message;
        Assert.Contains(expected, message);
    }
}
