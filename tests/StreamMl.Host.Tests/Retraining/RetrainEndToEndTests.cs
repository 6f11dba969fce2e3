using System.Globalization;
using System.Text;
using StreamMl.Engine;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Host.Specs;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Retraining;

/// <summary>The retrain loop through the host: a pipeline spec whose model section has a <c>retrain:</c> policy, a
/// registry champion trained by <c>streamml train</c> on sensor rows before a concept drift, and a stream that drifts
/// at row 10,001 (machine failures follow pressure instead of temperature). The live AUC falls, the policy trains the
/// champion's recipe on the recent window plus the training file, the challenger wins the gate, is registered with its
/// lineage, rolled out through shadow and 25 % and promoted in the registry; every step is in the registry history and
/// in <c>models show</c>. Time is a manual clock: 30 s per batch of 1,000 rows.</summary>
public sealed class RetrainEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Retrain = """
          retrain:
            on: { metric: auc, below: 0.7, for: 2m }
            window_rows: 5000
            min_rows: 2000
            metric_rows: 1000
            cooldown: 30m
            reference: train.csv
            gate: { margin: 0.02, folds: 5 }
            rollout: { steps: [0, 0.25], min_rows: 400, min_duration: 2m, max_duration: 60m, min_labels: 300, max_score_psi: 10, max_score_ks: 1, max_latency_ratio: 100 }
        """;

    private string PipelineSpec(string retrain) => $"""
        name: plant
        source:
          kind: file
          path: stream.csv
          columns: {"{"} id: int64, temperature: float64, vibration: float64, pressure: float64, failure: float64 {"}"}
        model:
          name: sensor
          label: failure
        {retrain}
        sinks: [ {"{"} kind: memory {"}"} ]
        """;

    [Fact]
    public async Task A_drifted_stream_retrains_registers_rolls_out_and_promotes_with_every_step_in_the_registry_history()
    {
        var (registry, runtime, retrain) = await RunAsync(Retrain, driftFrom: 10_000);
        var registryRoot = registry.Root;
        var history = registry.Stages("sensor").History.Where(e => e.Action != "promote" || e.Version == 2).ToArray();
        var start = history.First(e => e.Action == "retrain-triggered").AtUtc;
        foreach (var e in history.Where(e => e.AtUtc >= start))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"v{e.Version} +{(e.AtUtc - start).TotalMinutes,4:F1} min {e.Action,-19} {e.Reason}"));
        Assert.Equal(
            [("retrain-triggered", 1), ("retrain-trained", 1), ("retrain-registered", 2), ("rollout-shadow", 2), ("rollout-canary", 2),
             ("rollout-promoted", 2), ("promote", 2), ("retrain-promoted", 2)],
            history.Where(e => e.AtUtc >= start).Select(e => (e.Action, e.Version)));
        Assert.Equal(2, registry.Stages("sensor").Production);
        Assert.Equal("2", runtime.Models.Current.Primary!.Version);

        var challenger = registry.Open("sensor", 2).Manifest;
        Assert.Equal(1, challenger.Parent);
        Assert.StartsWith("metric: auc", challenger.Retrain!.Trigger);
        Assert.Contains("labelled rows", challenger.Retrain.DataWindow);
        Assert.Contains("+ 3000 reference rows", challenger.Retrain.DataWindow);
        Assert.True(challenger.Champion!.Passed);
        Assert.True(challenger.Champion.MeanImprovement > 0.02, $"fold improvement {challenger.Champion.MeanImprovement}");
        // The window began after the drift: its first row is past row 10,000 of the stream.
        var first = long.Parse(challenger.Retrain.DataWindow.Split(' ')[2].Split('-')[0], CultureInfo.InvariantCulture);
        Assert.True(first > 10_000, challenger.Retrain.DataWindow);

        var show = TrainingTestData.Cli("models", "show", "sensor", "2", "--registry", registryRoot);
        Assert.Equal(0, show.Exit);
        Assert.Contains("retrain-promoted", show.Output);
        Assert.Contains(challenger.Retrain.Trigger, show.Output);

        // The report's lineage section: sensor@2 with its parent and trigger, and the retrain steps in the history table.
        var report = new Operators.Reporting.MonitoringReportBuilder("plant");
        foreach (var section in StreamMl.Host.Reporting.ReportLineage.Tables(runtime)) report.AddTable(section);
        var html = Operators.Reporting.ReportHtml.Render(report.Build());
        var lineage = StreamMl.Host.Reporting.ReportLineage.Tables(runtime)[0];
        Assert.Equal(["2", "1"], lineage.Rows.Select(r => r[0]));
        Assert.Equal("1", lineage.Rows[0][1]);
        Assert.Equal(challenger.Retrain.Trigger, lineage.Rows[0][3]);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(challenger.Retrain.Trigger), html);
        Assert.Contains("retrain-promoted", html);
        retrain.Dispose();
    }

    [Fact]
    public async Task A_retrain_that_does_not_beat_the_champion_is_rejected_and_recorded_in_the_registry()
    {
        const string policy = """
              retrain:
                on: { every: 5m }
                window_rows: 5000
                min_rows: 2000
                gate: { margin: 0.01, folds: 5 }
            """;
        var (registry, runtime, retrain) = await RunAsync(policy, driftFrom: int.MaxValue);
        var events = registry.Stages("sensor").History.Where(e => e.Action.StartsWith("retrain-", StringComparison.Ordinal)).ToArray();
        foreach (var e in events) output.WriteLine($"v{e.Version} {e.Action,-19} {e.Reason}");
        Assert.Equal([("retrain-triggered", 1), ("retrain-trained", 1), ("retrain-rejected", 1)], events.Select(e => (e.Action, e.Version)));
        Assert.Contains("challenger does not beat the champion", events[^1].Reason);
        Assert.Equal([1], registry.Versions("sensor"));
        Assert.Equal("1", runtime.Models.Current.Primary!.Version);
        Assert.Null(runtime.Models.Rollout);
        retrain.Dispose();
    }

    /// <summary>Trains sensor@1 on rows before the drift, compiles the pipeline spec with <paramref name="policy"/> and
    /// streams batches through the model stage until the retrain ends (promoted, rolled back, rejected or failed).</summary>
    private async Task<(ModelRegistry Registry, PipelineRuntime Runtime, ModelRetrain Retrain)> RunAsync(string policy, int driftFrom)
    {
        var train = WriteRows(Path.Combine(_folder, "train.csv"), 3000, driftFrom: int.MaxValue, seed: 1);
        var stream = WriteRows(Path.Combine(_folder, "stream.csv"), 40_000, driftFrom: driftFrom, seed: 2);
        var registryRoot = Path.Combine(_folder, "models");
        await TrainingRunner.RunAsync(TrainSpec.Load(TrainingTestData.Write(_folder, "sensor.yaml", $"""
            name: sensor
            data: {"{"} path: {train}, drop: [id] {"}"}
            target: failure
            task: binary
            trainer: lr
            validation: {"{"} folds: 3, seed: 7, holdout: 0.2 {"}"}
            registry: {"{"} path: {registryRoot} {"}"}
            """)));
        var registry = new ModelRegistry(registryRoot);
        if (registry.Stages("sensor").Production is null) registry.Promote("sensor", 1, "test");
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registryRoot);
        var compiler = new SpecCompiler(ComponentRegistry.CreateDefault(), catalog);
        var spec = compiler.Compile(PipelineSpec(policy), _folder);

        var clock = new ManualClock();
        var runtime = new PipelineRuntime("plant", catalog) { Clock = clock };
        var model = CompiledSpec.Create(spec.Operators.Single(o => o.Kind == "model"), runtime);
        var table = (await DataTableReader.ReadAsync(stream, 0, CancellationToken.None)).Table;
        var schema = model.Bind(table.SchemaOf(["id", "temperature", "vibration", "pressure", "failure"]));
        using var batch = new ColumnBatch(schema, 1000);
        var rows = Enumerable.Range(0, table.Rows).ToArray();
        var retrain = runtime.Retrain!;
        var context = StageContext.Standalone("model");
        var next = 0;
        string[] ends = ["retrain-promoted", "retrain-rolled-back", "retrain-rejected", "retrain-failed", "retrain-cancelled"];
        for (var i = 0; i < 40 && !retrain.Loop.History.Any(e => ends.Contains(e.Action)); i++)
        {
            batch.Reset();
            if (next + 1000 > rows.Length) next = 0;
            next += table.Fill(batch, rows, next);
            model.Process(batch, context);
            clock.Advance(TimeSpan.FromSeconds(30));
            retrain.Tick();
            if (retrain.Loop.Training is { } training)
                await Eventually.CompletesAsync(training.ContinueWith(_ => { }, TaskScheduler.Default), "the challenger's training", TimeSpan.FromMinutes(2));
        }

        return (registry, runtime, retrain);
    }

    [Theory]
    [InlineData("  retrain: { on: { metric: auc } }", "exactly one of below or above")]
    [InlineData("  retrain: { on: { every: 1d }, rollout: { steps: [0.05] } }", "rollout steps must begin with 0")]
    [InlineData("  retrain: { on: { sometimes: 1 } }", "unknown key 'sometimes' in model.retrain.on")]
    [InlineData("  retrain: { on: { every: 1d }, reference: missing.csv }", "does not exist")]
    public void A_bad_policy_is_an_error_at_its_line(string retrain, string message)
    {
        var text = PipelineSpec(retrain);
        var error = Assert.Single(ValidateCommand.Validate(new SpecCompiler(ComponentRegistry.CreateDefault(), new ModelCatalog()), text, _folder),
            e => e.Message.Contains("retrain", StringComparison.Ordinal));
        Assert.Contains(message, error.Message);
        Assert.Equal(text.Split('\n').ToList().FindIndex(l => l.Contains("retrain:", StringComparison.Ordinal)) + 1, error.Line);
    }

    /// <summary>id, temperature, vibration, pressure uniform on [0, 1); failure = 1 with probability
    /// sigmoid(6·(temperature + vibration − 1)) before row <paramref name="driftFrom"/>, sigmoid(6·(pressure + vibration − 1)) from it.</summary>
    private static string WriteRows(string path, int rows, int driftFrom, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("id,temperature,vibration,pressure,failure\n");
        for (var i = 0; i < rows; i++)
        {
            double t = random.NextDouble(), v = random.NextDouble(), p = random.NextDouble();
            var driver = i >= driftFrom ? p : t;
            var y = random.NextDouble() < 1 / (1 + Math.Exp(-6 * (driver + v - 1))) ? 1 : 0;
            text.Append(CultureInfo.InvariantCulture, $"{i},{t:F5},{v:F5},{p:F5},{y}\n");
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }
}
