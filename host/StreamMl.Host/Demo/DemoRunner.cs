using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Demo;

/// <summary>The default demo. Everything it needs is generated; it talks to its own host through gRPC like any client.</summary>
internal static class DemoRunner
{
    public static async Task<int> RunAsync(DirectoryInfo outputFolder, int rows, TextWriter output, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        outputFolder.Create();
        var data = new DemoData(seed: 42, driftFrom: rows / 2);

        // 1. Train a model on clean readings and register it (the same runner as `streamml train`).
        var trainingCsv = Path.Combine(outputFolder.FullName, "training.csv");
        var registry = Path.Combine(outputFolder.FullName, "models");
        if (Directory.Exists(registry)) Directory.Delete(registry, recursive: true);
        data.WriteTrainingCsv(trainingCsv, 10_000);
        var trainSpecPath = Path.Combine(outputFolder.FullName, "train.yaml");
        await File.WriteAllTextAsync(trainSpecPath, TrainSpecText, cancellationToken);
        output.WriteLine("1. training a fault model on 10,000 generated readings (LightGBM, 3-fold cross-validation) ...");
        var training = Stopwatch.StartNew();
        var report = await Training.TrainingRunner.RunAsync(Training.TrainSpec.Load(trainSpecPath), cancellationToken: cancellationToken);
        var auc = report.HeldOut.Values.FirstOrDefault(p => p.Key.Contains("auc", StringComparison.OrdinalIgnoreCase));
        output.WriteLine($"   registered {report.Version.Name} version {report.Version.Version} ({report.Version.Stage.ToString().ToLowerInvariant()}); " +
                         $"held-out {auc.Key} {auc.Value:F3}; ONNX parity {report.OnnxParity:E1}; {training.Elapsed.TotalSeconds:F1} s");

        // 2. Start the gRPC host on loopback, serving models from that registry.
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = 0, RegistryPath = registry },
            cancellationToken: cancellationToken);
        output.WriteLine($"2. gRPC host on {server.Address}, Prometheus on {server.MetricsAddress}/metrics");

        using var channel = HostClient.Open(server.Address, null);
        var control = new Control.ControlClient(channel);
        var query = new Query.QueryClient(channel);
        var dataPlane = new DataPlane.DataPlaneClient(channel);

        // 3. Create the pipeline through the Control API.
        var spec = DemoSpec(outputFolder.FullName);
        await File.WriteAllTextAsync(Path.Combine(outputFolder.FullName, "pipeline.yaml"), spec, cancellationToken);
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = spec, Start = true }, cancellationToken: cancellationToken);
        output.WriteLine("3. pipeline 'sensors' created through Control.CreatePipeline: grpc source -> validation -> model sensor-fault -> drift -> Parquet");

        // 4. Watch alerts while streaming.
        var alerts = new List<DriftAlert>();
        using var subscription = dataPlane.Subscribe(new SubscribeRequest { Pipeline = "sensors" }, cancellationToken: cancellationToken);
        var watcher = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in subscription.ResponseStream.ReadAllAsync(cancellationToken))
                    if (e.KindCase == PipelineEvent.KindOneofCase.Alert)
                        lock (alerts)
                        {
                            alerts.Add(e.Alert);
                            output.WriteLine($"   ALERT: {e.Alert.Message}");
                        }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled) { }
        }, cancellationToken);

        output.WriteLine($"4. streaming {rows:N0} readings as Arrow IPC batches; temperature sensors drift +{DemoData.DriftOffset} degrees from row {data.DriftFrom:N0}");
        var streaming = Stopwatch.StartNew();
        const int batchRows = 4096;
        var start = DateTimeOffset.UtcNow;
        using (var ingest = dataPlane.Ingest(cancellationToken: cancellationToken))
        {
            for (var sent = 0; sent < rows; sent += batchRows)
            {
                var payload = data.NextBatch(Math.Min(batchRows, rows - sent), start);
                await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "sensors", ArrowIpc = ByteString.CopyFrom(payload) }, cancellationToken);
            }
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }
        // Wait until the pipeline has read everything, then stop it with a drain (flushes the sinks).
        PipelineStatus status;
        do
        {
            await Task.Delay(20, cancellationToken);
            status = await control.GetStatusAsync(new PipelineRef { Name = "sensors" }, cancellationToken: cancellationToken);
        }
        while (status.Stages[^1].RowsIn + status.DeadLetters < rows && streaming.Elapsed < TimeSpan.FromSeconds(40));
        await control.StopPipelineAsync(new PipelineRef { Name = "sensors" }, cancellationToken: cancellationToken);
        var seconds = streaming.Elapsed.TotalSeconds;

        // 5. Query what happened.
        var drift = await query.GetDriftReportAsync(new DriftReportRequest { Pipeline = "sensors", MaxWindows = 0 }, cancellationToken: cancellationToken);
        var metrics = await query.GetMetricsAsync(new MetricsRequest { Pipeline = "sensors" }, cancellationToken: cancellationToken);
        var score = await dataPlane.ScoreAsync(new ScoreRequest { Pipeline = "sensors", Rows = ExampleRows() }, cancellationToken: cancellationToken);
        subscription.Dispose();
        try { await watcher; } catch (OperationCanceledException) { } catch (RpcException) { }

        output.WriteLine("5. summary");
        output.WriteLine($"   rows streamed:     {metrics.Rows:N0} in {seconds:F2} s ({metrics.Rows / seconds:N0} rows/s through gRPC and the pipeline)");
        output.WriteLine($"   model on labels:   accuracy {metrics.Model.Accuracy:P1} over {metrics.Model.LabelledRows:N0} rows, log loss {metrics.Model.LogLoss:F3}");
        var letters = await query.ListDeadLettersAsync(new DeadLettersRequest { Pipeline = "sensors", PageSize = 1 }, cancellationToken: cancellationToken);
        output.WriteLine($"   dead letters:      {metrics.DeadLetters:N0} glitched readings rejected by validation" +
                         (letters.Letters.Count > 0 ? $", e.g. {letters.Letters[0].Location}: {letters.Letters[0].Message}" : ""));
        var firstDrift = drift.Windows.FirstOrDefault(w => w.Status == "drift");
        output.WriteLine($"   drift:             {drift.Alerts} alert(s); first drifting window starts at row {firstDrift?.FirstRow.ToString("N0") ?? "none"}" +
                         $" (drift injected at row {data.DriftFrom:N0}, reference = first {drift.ReferenceRows:N0} rows)");
        var shown = new DriftReport(drift);
        shown.Windows.Clear();
        shown.Windows.AddRange(drift.Windows.Where(w => w.Index >= (firstDrift?.Index ?? 0) - 2).Take(4));
        DriftCommand.Print(shown, output);
        output.WriteLine($"   Score (unary):     normal machine {score.Scores[0].Score:F3}, hot vibrating machine {score.Scores[1].Score:F3} ({score.Scores[0].Model})");
        var parquetFiles = Directory.Exists(Path.Combine(outputFolder.FullName, "scored"))
            ? Directory.GetFiles(Path.Combine(outputFolder.FullName, "scored"), "*.parquet", SearchOption.AllDirectories)
            : [];
        output.WriteLine($"   outputs:           {outputFolder.FullName}");
        output.WriteLine($"                      scored/ ({parquetFiles.Length} Parquet file(s), {parquetFiles.Sum(f => new FileInfo(f).Length) / 1024:N0} KiB), models/, training.csv, train.yaml, pipeline.yaml");
        output.WriteLine($"   total time:        {total.Elapsed.TotalSeconds:F1} s");

        var ok = drift.Alerts > 0 && metrics.DeadLetters > 0 && firstDrift is not null && firstDrift.FirstRow + firstDrift.Rows > data.DriftFrom && metrics.Model.Accuracy > 0.8
                 && parquetFiles.Length > 0;
        if (!ok) output.WriteLine("   CHECK FAILED: expected a drift alert after the injection point, accuracy above 80% and Parquet output");
        return ok ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static RowSet ExampleRows()
    {
        var rows = new RowSet { Columns = { "device", "temperature", "vibration", "pressure" } };
        rows.Rows.Add(new Row { Values = { new Value { Text = "machine-01" }, new Value { Number = 61 }, new Value { Number = 1.0 }, new Value { Number = 101 } } });
        rows.Rows.Add(new Row { Values = { new Value { Text = "machine-02" }, new Value { Number = 76 }, new Value { Number = 2.1 }, new Value { Number = 100 } } });
        return rows;
    }

    internal static string DemoSpec(string outputFolder) => $$"""
        name: sensors
        description: generated machine sensors, scored for faults and watched for drift
        options: { batch_capacity: 4096, ring_size: 8 }
        source:
          kind: grpc
          columns: { device: string, temperature: float32, vibration: float32, pressure: float32, fault: bool, ts: timestamp }
          required: [temperature, vibration, pressure]
          event_time: ts
        validation:
          - { rule: range, column: vibration, min: 0, max: 20 }
          - { rule: range, column: temperature, min: -40, max: 150 }
        model:
          name: sensor-fault
          key: device
          label: fault
        drift:
          features: [temperature, vibration, pressure]
          reference_rows: 20000
          window_rows: 10000
        sinks:
          - kind: parquet
            path: {{outputFolder}}/scored
          - kind: memory
            keep_rows: 5
        """;

    private const string TrainSpecText = """
        name: sensor-fault
        data:
          path: training.csv
        target: fault
        task: binary
        trainer: lightgbm
        hyperparameters: { trees: 40, leaves: 16, learningRate: 0.1, minLeaf: 20 }
        validation: { folds: 3, seed: 42, holdout: 0.2 }
        threshold: { objective: maxF1 }
        gates: { minScore: 0.8, maxGap: 0.1 }
        registry: { path: models, promote: auto }
        """;
}
