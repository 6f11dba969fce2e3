using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Engine;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S7: the credit rows streamed as Arrow IPC batches of 4,096 rows by a client in its own process (this
/// program's <c>grpc-client</c> verb) into a host on 127.0.0.1 whose pipeline validates them, scores them with S6's
/// gradient-boosted model (100 trees × 31 leaves, served from the registry with its fitted features, on the engine's
/// tree evaluator) and monitors drift on the raw columns; against the same ingest, validation and drift without the
/// model, and with the model stage as two workers. Timed from the client's first message until the pipeline's sink
/// has every row.</summary>
public sealed class S7GrpcModel : IScenario
{
    // Rows per Ingest message: 4,096 by default; S7_ROWS_PER_MESSAGE (at most 4,096) measures another message size with
    // the same rows in all (1,228,800 per run).
    private static readonly int Batch = int.TryParse(Environment.GetEnvironmentVariable("S7_ROWS_PER_MESSAGE"), out var rows) ? Math.Clamp(rows, 1, 4096) : 4096;
    // Short pipeline names, so the kernel's 15-character thread names ("s7m/model") still say pipeline and stage.
    private const string ModelPipeline = "s7m", NoModelPipeline = "s7n", TwoWorkersPipeline = "s7w";
    private static StreamMlServer? s_server;
    private static string s_payloadPath = "";

    /// <inheritdoc/>
    public string Id => "S7";

    /// <inheritdoc/>
    public string Title => "gRPC Arrow ingest (client in its own process) → validate → 100-tree credit model → drift, against the same without the model";

    private static string Spec(string name, bool model, int workers = 1)
    {
        var columns = string.Join(", ", CreditColumns.Select(c => $"\"{c}\": int64"));
        var drift = string.Join(", ", S6Python.s_columns.Select(c => $"\"{c}\""));
        return $$"""
            name: {{name}}
            source:
              kind: grpc
              columns: { {{columns}} }
              queue_batches: 32
            validation:
              - { rule: required, column: LIMIT_BAL }
              - { rule: range, column: AGE, min: 18, max: 100, action: reject }
            {{(model ? $"model: {{ name: credit, workers: {workers} }}" : "")}}
            drift:
              features: [{{drift}}]
              reference_rows: 20000
              window_rows: 100000
            sinks:
              - kind: memory
                keep_rows: 0
            """;
    }

    private static readonly string[] CreditColumns = [.. S6Python.s_columns, "ID", CreditWorkload.Label];

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size)
    {
        if (s_server is not null) return;
        var (features, _, profile) = S6Python.StreamMlSetup(size);
        // S6's model again (same features, trees, leaves and seed), exported with the feature matrix as its only input.
        var batches = WorkloadTraining.ReadAll(CreditWorkload.SourceCsv);
        var labels = batches.SelectMany(b => Enumerable.Range(0, b.Length)
            .Select(r => WorkloadTraining.Number(b[b.Schema.Require(CreditWorkload.Label)], r) > 0.5)).ToArray();
        var model = WorkloadTraining.FastTreeOnnx(WorkloadTraining.Matrix(features, batches), labels, features.FeatureCount,
            leaves: 31, trees: size == ScenarioSize.Smoke ? 10 : 100, seed: 5, labelInput: false);
        foreach (var batch in batches) batch.Dispose();
        var folder = Path.Combine(Path.GetTempPath(), $"streamml-s7-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        var registry = new ModelRegistry(Path.Combine(folder, "models"));
        var package = new ModelPackage { Manifest = new ModelManifest { Task = "binary", Trainer = "fasttree", Target = CreditWorkload.Label, Threshold = 0.5 } }
            .Add(ModelPackage.ModelFile, model)
            .Add(ModelPackage.FeaturesFile, features.ToJson())
            .Add(ModelPackage.SchemaFile, $$"""{"inputs":[{{string.Join(",", features.Inputs.Select(f => $$"""{"name":"{{f.Name}}","type":"{{ColumnTypes.Name(f.Type)}}","nullable":true}"""))}}],"target":"{{CreditWorkload.Label}}","task":"binary","classes":["0","1"]}""")
            .Add(ModelPackage.MetricsFile, "{}")
            .Add(ModelPackage.ProfileFile, profile.ToJson());
        var version = registry.Register("credit", package);
        registry.Promote("credit", version.Version);
        s_payloadPath = Path.Combine(folder, $"credit-{Batch}.arrows");
        File.WriteAllBytes(s_payloadPath, ArrowPayload());
        var server = StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1, RegistryPath = registry.Root }).GetAwaiter().GetResult();
        var manager = server.Services.GetRequiredService<PipelineManager>();
        foreach (var (name, withModel, workers) in new[] { (ModelPipeline, true, 1), (NoModelPipeline, false, 1), (TwoWorkersPipeline, true, 2) })
            manager.CreateAsync(Spec(name, withModel, workers), start: true, replace: false, null, CancellationToken.None).GetAwaiter().GetResult();
        s_server = server;
        if (size != ScenarioSize.Full) return;
        // Steady state, as S6: the host lives on across runs, and .NET's dynamic PGO re-compiles its hot methods over the
        // first few (host CPU per row 2.3 µs in the first run, ~1.0 µs from the third, 22:49 UTC). A host that ingests for
        // hours pays that once.
        for (var run = 0; run < WarmUpRuns; run++)
            foreach (var variant in Variants)
                variant.RunAsync(size, ScenarioMeasure.NewHistogram(), CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Untimed runs of each variant in <see cref="Prepare"/>, before the runner's own warm-up round.</summary>
    private const int WarmUpRuns = 4;

    /// <summary>The first <see cref="Batch"/> rows of the credit file as one Arrow IPC stream (schema and one record batch).</summary>
    private static byte[] ArrowPayload()
    {
        var batches = WorkloadTraining.ReadAll(CreditWorkload.SourceCsv);
        var first = batches[0];
        var builder = new RecordBatch.Builder();
        foreach (var name in CreditColumns)
        {
            var column = first[first.Schema.Require(name)];
            var values = column.Values<long>()[..Batch].ToArray();
            builder.Append(name, true, b => b.Int64(a => a.AppendRange(values)));
        }
        foreach (var batch in batches) batch.Dispose();
        using var record = builder.Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, record.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(record);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Ingest("Ingest → validate → GBT model → drift", ModelPipeline, true),
        new Ingest("reference: ingest → validate → drift, no model", NoModelPipeline, false),
        new Ingest("reference: ingest → validate → GBT model (2 workers) → drift", TwoWorkersPipeline, false),
    ];

    private static int Messages(ScenarioSize size) => size == ScenarioSize.Smoke ? 4 : 300 * 4096 / Batch;

    private sealed class Ingest(string name, string pipelineName, bool isStreamMl) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;
        public bool TimesItself => true;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var server = s_server!;
            var pipeline = server.Services.GetRequiredService<PipelineManager>().Get(pipelineName);
            var before = pipeline.Runtime.Memory!.Rows;
            var messages = Messages(size);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var argument in new[] { typeof(S7GrpcModel).Assembly.Location, "grpc-client", server.Address, pipelineName, s_payloadPath, messages.ToString(CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(argument);
            using var client = Process.Start(start)!;
            // The client warms up on a stream of its own (a quarter of the messages: its JIT tiers up the send path, as in a
            // long-running client) and says how many rows it sent; once the sink has them, "go" starts the timed stream.
            // Process start, the warm-up and its rows are not timed.
            var warm = await client.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (warm is null || !warm.StartsWith("warm ", StringComparison.Ordinal))
                throw new InvalidOperationException($"grpc-client: {warm} {await client.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false)}");
            before += long.Parse(warm[5..], CultureInfo.InvariantCulture);
            await HostBench.WaitForRowsAsync(() => pipeline.Runtime.Memory!.Rows, before, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            await client.StandardInput.WriteLineAsync("go".AsMemory(), cancellationToken).ConfigureAwait(false);
            await client.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            // The client says "sending" just before its first timed message.
            var first = await client.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.GetTimestamp();
            var busyBefore = pipeline.Current!.Stages.Select(s => s.Busy).ToArray();
            var threadsBefore = ThreadCpu.Threads(Environment.ProcessId);
            var hostBefore = ThreadCpu.Process(Environment.ProcessId);
            if (first != "sending") throw new InvalidOperationException($"grpc-client: {first} {await client.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false)}");
            var accepted = long.Parse((await client.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false))!, CultureInfo.InvariantCulture);
            await HostBench.WaitForRowsAsync(() => pipeline.Runtime.Memory!.Rows - before, accepted, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            var elapsed = Stopwatch.GetTimestamp() - clock;
            var threadsAfter = ThreadCpu.Threads(Environment.ProcessId);
            var hostAfter = ThreadCpu.Process(Environment.ProcessId);
            latency.RecordValue(Math.Max(1, elapsed));
            // Where the time went: each stage's busy time (work only) per row, so the limiting stage shows (stderr: not
            // part of the report).
            var stages = pipeline.Current.Stages;
            Console.Error.WriteLine($"S7 {pipelineName}: " + string.Join(", ", stages.Select((s, i) =>
                $"{s.Name} {(s.Busy - busyBefore[Math.Min(i, busyBefore.Length - 1)]).TotalMicroseconds * 1000 / accepted:N0} ns/row")));
            var clientCpu = double.Parse((await client.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false))!, CultureInfo.InvariantCulture);
            await client.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            ReportCpu(pipelineName, accepted, threadsBefore, threadsAfter, hostAfter - hostBefore, clientCpu, Stopwatch.GetElapsedTime(clock, clock + elapsed));
            return (accepted, new FileInfo(s_payloadPath).Length * messages);
        }
    }

    /// <summary>Where the CPU went, per row (stderr: not part of the report): the host process's CPU time (user + system,
    /// all threads) split by thread — each pipeline stage runs on its own named thread; the thread pool runs Kestrel,
    /// HTTP/2, gRPC, the protobuf parse, the Arrow IPC decode and the copy into the staging batches — and the client
    /// process's own. CPU time does not stretch when other processes share the cores, unlike the stages' busy time, so
    /// these figures hold on a loaded machine; 2 cores divided by the total CPU per row is the capacity of an idle
    /// 2-core machine.</summary>
    private static void ReportCpu(string pipelineName, long rows, Dictionary<int, (string Name, double Seconds)> before,
        Dictionary<int, (string Name, double Seconds)> after, double? hostSeconds, double clientSeconds, TimeSpan elapsed)
    {
        var groups = ThreadCpu.Spent(before, after, name =>
            name.StartsWith(pipelineName + "/", StringComparison.Ordinal) ? name[(pipelineName.Length + 1)..]
            : name.StartsWith("s7", StringComparison.Ordinal) ? "other pipelines (idle)"
            : name.StartsWith(".NET TP", StringComparison.Ordinal) || name.StartsWith(".NET ThreadPool", StringComparison.Ordinal) || name.StartsWith(".NET IO", StringComparison.Ordinal)
                ? "thread pool (Kestrel, HTTP/2, gRPC, protobuf, Arrow decode → staging)"
            : name.Contains("GC", StringComparison.Ordinal) ? "GC" : "other: " + name);
        static string PerRow(double seconds, long rows) => (seconds * 1e9 / rows).ToString("N0", CultureInfo.InvariantCulture) + " ns";
        var host = hostSeconds ?? groups.Values.Sum();
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        Console.Error.WriteLine($"S7 {pipelineName} CPU per row ({rows:N0} rows in {elapsed.TotalSeconds:F2} s, load {load}): host {PerRow(host, rows)}, client {PerRow(clientSeconds, rows)}, " +
            $"together {PerRow(host + clientSeconds, rows)} → {2 / ((host + clientSeconds) / rows) / 1e6:F2} M rows/s on 2 idle cores");
        foreach (var (group, seconds) in groups.Where(g => g.Value > 0).OrderByDescending(g => g.Value))
            Console.Error.WriteLine($"    {group}: {PerRow(seconds, rows)}");
    }

    /// <summary>The client process: <c>grpc-client address pipeline payload messages</c> sends the Arrow IPC payload
    /// <c>messages</c> times on one Ingest stream, after a warm-up stream of a quarter of them ("warm rows"; it waits for
    /// "go" on its input), printing "sending" before the first timed message and, at the end, the rows accepted and the CPU seconds it spent sending them.</summary>
    public static async Task<int> ClientAsync(string[] args, TextReader input, TextWriter output)
    {
        var payload = await File.ReadAllBytesAsync(args[2]);
        using var channel = HostClient.Open(args[0], null);
        var request = HostBench.ArrowRequest(payload);
        request.Pipeline = args[1];
        // A warm-up stream first: the connection opens and the send path's JIT tiers up before the timed stream.
        var messages = int.Parse(args[3], CultureInfo.InvariantCulture);
        var warmRows = await HostBench.IngestAsync(channel, request, Math.Max(1, messages / 4));
        await output.WriteLineAsync($"warm {warmRows}");
        await output.FlushAsync();
        if (await input.ReadLineAsync() != "go") return 1;
        await output.WriteLineAsync("sending");
        await output.FlushAsync();
        var cpu = System.Diagnostics.Process.GetCurrentProcess();
        var cpuBefore = cpu.TotalProcessorTime;
        var accepted = await HostBench.IngestAsync(channel, request, messages);
        cpu.Refresh();
        var cpuSpent = (cpu.TotalProcessorTime - cpuBefore).TotalSeconds;
        await output.WriteLineAsync(accepted.ToString(CultureInfo.InvariantCulture));
        await output.WriteLineAsync(cpuSpent.ToString("R", CultureInfo.InvariantCulture));
        await output.FlushAsync();
        return 0;
    }
}
