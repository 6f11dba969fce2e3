using System.CommandLine;
using System.Diagnostics;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml bench</c>: starts a host on 127.0.0.1 and measures gRPC ingest (Arrow IPC against protobuf
/// rows) and unary Score latency at a fixed rate. Quick figures; docs/BENCHMARKS.md has the BenchmarkDotNet ones.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var rows = new Option<int>("--rows") { Description = "Rows to ingest per format (0 skips ingest)", DefaultValueFactory = _ => 2_000_000 };
        var batch = new Option<int>("--batch") { Description = "Rows per Ingest message", DefaultValueFactory = _ => 4096 };
        var rate = new Option<int>("--rate") { Description = "Score requests per second", DefaultValueFactory = _ => 1000 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of Score requests per round and scheduler", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of Score measurements; the two schedulers alternate", DefaultValueFactory = _ => 1 };
        var compare = new Option<bool>("--compare-spinning") { Description = "Also measure with the old closed-loop, spinning client in the same rounds" };
        var inline = new Option<bool>("--compare-inline-io") { Description = "Also measure a second host whose Kestrel sockets complete inline, in the same rounds" };
        var address = new Option<string?>("--address")
        {
            Description = "Measure Score against a running host (`streamml serve`) instead of one inside this process, so client and " +
                          "server do not share a garbage collector; the API key, if any, comes from STREAMML_API_KEY",
        };
        var recommend = new Option<bool>("--recommend")
        {
            Description = "Measure Recommend instead: a 10,000-item catalogue learnt from --recommend-users users x 40 events, then Recommend at --rate",
        };
        var recommendUsers = new Option<int>("--recommend-users") { Description = "Users in the recommend catalogue", DefaultValueFactory = _ => 5000 };
        var oip = new Option<bool>("--oip")
        {
            Description = "Open Inference Protocol next to the native API: Score and ModelInfer latency, interleaved call by call at --rate " +
                          "calls/s in all (with --address: against a running `streamml serve`), and rows/s of Ingest (Arrow), Score (Arrow) and ModelInfer (raw FP32) with --batch rows per call (at most 1,024)",
        };
        var command = new Command("bench", "Measure gRPC ingest rows/s (Arrow vs protobuf) and Score latency on this machine")
        {
            rows, batch, rate, seconds, rounds, compare, inline, address, recommend, recommendUsers, oip,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(recommend))
            {
                await RunRecommendAsync(output, parse.GetValue(recommendUsers), parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(rounds), ct);
                return ExitCodes.Ok;
            }
            output.WriteLine($"load average at start: {LoadAverage()}; GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, " +
                             $"latency mode {System.Runtime.GCSettings.LatencyMode}");
            if (parse.GetValue(oip))
            {
                var oipBatch = Math.Min(parse.GetValue(batch), 1024);
                var o = parse.GetValue(address) is { } oipAddress
                    ? await OipBench.RunRemoteAsync(oipAddress, parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(rounds), oipBatch, ct)
                    : await OipBench.RunAsync(parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(rounds), oipBatch, parse.GetValue(rows), ct);
                WriteOip(output, o, parse.GetValue(rate), oipBatch, parse.GetValue(address) is not null);
                output.WriteLine($"load average at end: {LoadAverage()}");
                return ExitCodes.Ok;
            }
            var result = parse.GetValue(address) is { } remote
                ? await RunRemoteAsync(remote, parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(rounds), parse.GetValue(compare), ct)
                : await RunAsync(parse.GetValue(rows), parse.GetValue(batch), parse.GetValue(rate), parse.GetValue(seconds),
                    parse.GetValue(rounds), parse.GetValue(compare), parse.GetValue(inline), ct);
            if (result.ArrowRowsPerSecond > 0)
            {
                output.WriteLine($"ingest, Arrow IPC batches of {parse.GetValue(batch)}: {result.ArrowRowsPerSecond,12:N0} rows/s");
                output.WriteLine($"ingest, protobuf rows ({parse.GetValue(batch)} per message): {result.ProtobufRowsPerSecond,12:N0} rows/s");
                output.WriteLine($"ratio Arrow/protobuf: {result.ArrowRowsPerSecond / result.ProtobufRowsPerSecond:F1}x");
            }
            foreach (var (name, histograms) in result.Score)
            {
                foreach (var h in histograms)
                    output.WriteLine($"Score at {parse.GetValue(rate)}/s, {name}: p50 {h.GetValueAtPercentile(50)} us, p99 {h.GetValueAtPercentile(99)} us, " +
                                     $"p99.9 {h.GetValueAtPercentile(99.9)} us, max {h.GetMaxValue()} us over {h.TotalCount:N0} calls (client side, from scheduled start)");
            }
            var late = result.SendLateness;
            output.WriteLine($"open-loop client's own lateness in sending: p50 {late.GetValueAtPercentile(50)} us, p99 {late.GetValueAtPercentile(99)} us, " +
                             $"p99.9 {late.GetValueAtPercentile(99.9)} us, max {late.GetMaxValue()} us");
            output.WriteLine($"Score inside the host: p50 {result.Server.P50Us} us, p99 {result.Server.P99Us} us over {result.Server.Count:N0} calls");
            output.WriteLine($"GC collections gen0/1/2 during the Score rounds: {result.Collections}; load average at end: {LoadAverage()}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static LongHistogram Pooled(IReadOnlyList<LongHistogram> rounds)
    {
        var all = new LongHistogram(10_000_000, 3);
        foreach (var round in rounds) all.Add(round);
        return all;
    }

    /// <summary>Score and ModelInfer side by side per round, with the ratio ModelInfer/Score of each percentile.</summary>
    private static void WriteOip(TextWriter output, OipBench.Result o, int rate, int batch, bool remote)
    {
        static string Us(LongHistogram h, double percentile) => h.GetValueAtPercentile(percentile).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        static string Ratio(LongHistogram infer, LongHistogram score, double percentile) =>
            (infer.GetValueAtPercentile(percentile) / (double)Math.Max(1, score.GetValueAtPercentile(percentile))).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"1 row per call, {rate} calls/s in all, Score, ModelInfer and ServerLive (the transport floor: no work behind it) " +
                         $"interleaved call by call, open loop; latency from each call's scheduled start (us); host {(remote ? "in another process" : "in this process")}:");
        output.WriteLine("round | Score p50 / p99 / p99.9 | ModelInfer p50 / p99 / p99.9 | ServerLive p50 / p99 / p99.9 | ModelInfer/Score p50 / p99 | " +
                         "Score/ServerLive p50 / p99 | calls each | client's own send lateness p99");
        for (var i = 0; i < o.Score.Count; i++)
        {
            var (s, m, l) = (o.Score[i], o.Infer[i], o.Live[i]);
            output.WriteLine($"{i + 1} | {Us(s, 50)} / {Us(s, 99)} / {Us(s, 99.9)} | {Us(m, 50)} / {Us(m, 99)} / {Us(m, 99.9)} | " +
                             $"{Us(l, 50)} / {Us(l, 99)} / {Us(l, 99.9)} | {Ratio(m, s, 50)} / {Ratio(m, s, 99)} | {Ratio(s, l, 50)} / {Ratio(s, l, 99)} | " +
                             $"{s.TotalCount:N0} | {Us(o.SendLateness[i], 99)}");
        }
        // One round's p99 rests on its slowest 1 % (20 calls at the default rate and length): two calls with the same
        // distribution differ by 30 % there from round to round. All rounds together give the steadier comparison.
        var (score, infer, live, late) = (Pooled(o.Score), Pooled(o.Infer), Pooled(o.Live), Pooled(o.SendLateness));
        output.WriteLine($"all rounds | {Us(score, 50)} / {Us(score, 99)} / {Us(score, 99.9)} | {Us(infer, 50)} / {Us(infer, 99)} / {Us(infer, 99.9)} | " +
                         $"{Us(live, 50)} / {Us(live, 99)} / {Us(live, 99.9)} | {Ratio(infer, score, 50)} / {Ratio(infer, score, 99)} | " +
                         $"{Ratio(score, live, 50)} / {Ratio(score, live, 99)} | {score.TotalCount:N0} | {Us(late, 99)}");
        if (o.HostScoreChain is { } chain)
            output.WriteLine($"inside the host, Score chain per call (Score and ModelInfer): p50 {chain.P50Us} us, p99 {chain.P99Us} us over {chain.Count:N0} calls");
        output.WriteLine($"rows/s with {batch} rows per call: " + (o.IngestArrowRowsPerSecond > 0 ? $"Ingest Arrow IPC {o.IngestArrowRowsPerSecond:N0}, " : "") +
                         $"Score Arrow IPC {o.ScoreArrowRowsPerSecond:N0}, ModelInfer raw FP32 {o.InferRawRowsPerSecond:N0}");
    }

    internal sealed record Result(double ArrowRowsPerSecond, double ProtobufRowsPerSecond,
        IReadOnlyList<(string Scheduler, List<LongHistogram> Rounds)> Score, LongHistogram SendLateness, Protos.LatencyPercentiles Server,
        string Collections);

    /// <summary>Loads the recommend pipeline, then rounds of Recommend at a fixed rate (client side, from the scheduled
    /// start), and the host's own per-variant view from GetMetrics.</summary>
    internal static async Task RunRecommendAsync(TextWriter output, int users, int rate, int seconds, int rounds, CancellationToken cancellationToken)
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }, cancellationToken: cancellationToken);
        var manager = server.Services.GetRequiredService<PipelineManager>();
        var pipeline = await manager.CreateAsync(RecommendBench.Spec, start: true, replace: false, null, cancellationToken);
        using var channel = HostClient.Open(server.Address, null);
        var start = Stopwatch.GetTimestamp();
        var accepted = await RecommendBench.LoadAsync(channel, users, 40, cancellationToken);
        var state = pipeline.Runtime.Recommend!;
        await HostBench.WaitForRowsAsync(() => state.Interactions.Rows, accepted, TimeSpan.FromMinutes(5));
        output.WriteLine($"learnt {accepted:N0} interactions ({users:N0} users, {state.Models[0].Stats.Items:N0} items) in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
        var gc = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        for (var round = 0; round < Math.Max(1, rounds); round++)
        {
            var h = RecommendBench.RecommendAtRate(channel, users, rate, rate * seconds, TimeSpan.FromSeconds(2));
            output.WriteLine($"Recommend k=10 at {rate}/s, open loop: p50 {h.GetValueAtPercentile(50)} us, p99 {h.GetValueAtPercentile(99)} us, " +
                             $"p99.9 {h.GetValueAtPercentile(99.9)} us, max {h.GetMaxValue()} us over {h.TotalCount:N0} calls (client side, from scheduled start)");
        }
        foreach (var m in state.Server.Metrics())
            output.WriteLine($"inside the host, variant {m.Variant} ({m.Model}): p50 {m.LatencyP50Us} us, p99 {m.LatencyP99Us} us over {m.Requests:N0} calls");
        output.WriteLine($"GC collections gen0/1/2 during the rounds: {GC.CollectionCount(0) - gc.Item1}/{GC.CollectionCount(1) - gc.Item2}/{GC.CollectionCount(2) - gc.Item3}; load average at end: {LoadAverage()}");
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "n/a".</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Score latency against a host in another process: the bench pipeline is created there through
    /// Control.CreatePipeline, and the host's own view of the calls comes from Query.GetMetrics.</summary>
    internal static async Task<Result> RunRemoteAsync(string address, int rate, int seconds, int rounds, bool compareSpinning,
        CancellationToken cancellationToken)
    {
        using var channel = HostClient.Open(address, Environment.GetEnvironmentVariable("STREAMML_API_KEY"));
        var control = new Protos.Control.ControlClient(channel);
        await control.CreatePipelineAsync(new Protos.CreatePipelineRequest { Spec = HostBench.Spec, Start = true, Replace = true },
            cancellationToken: cancellationToken);
        var (openLoop, spinning, _, lateness, collections) = MeasureScore(channel, rate, seconds, rounds, compareSpinning);
        var metrics = await new Protos.Query.QueryClient(channel).GetMetricsAsync(new Protos.MetricsRequest { Pipeline = HostBench.PipelineName },
            cancellationToken: cancellationToken);
        List<(string, List<LongHistogram>)> score = [("open loop, sleeping scheduler, host in another process", openLoop)];
        if (compareSpinning) score.Add(("closed loop, spinning scheduler (before), host in another process", spinning));
        return new Result(0, 0, score, lateness, metrics.ScoreLatency, collections + " (client process)");
    }

    /// <summary>Rounds of Score at a fixed rate; in each, the open-loop client, then (when asked) the spinning client
    /// and the same open-loop client against a second host, so every variant sees the same machine state.</summary>
    private static (List<LongHistogram> OpenLoop, List<LongHistogram> Spinning, List<LongHistogram> Other, LongHistogram Lateness, string Collections) MeasureScore(
        global::Grpc.Net.Client.GrpcChannel channel, int rate, int seconds, int rounds, bool compareSpinning,
        global::Grpc.Net.Client.GrpcChannel? otherHost = null)
    {
        var openLoop = new List<LongHistogram>();
        var spinning = new List<LongHistogram>();
        var other = new List<LongHistogram>();
        var lateness = new LongHistogram(10_000_000, 3);
        var warmup = TimeSpan.FromSeconds(2);
        var gc = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        for (var round = 0; round < Math.Max(1, rounds); round++)
        {
            openLoop.Add(HostBench.ScoreAtRate(channel, rate, rate * seconds, warmup, lateness));
            if (compareSpinning) spinning.Add(HostBench.ScoreAtRateSpinning(channel, rate, rate * seconds, warmup));
            if (otherHost is not null) other.Add(HostBench.ScoreAtRate(otherHost, rate, rate * seconds, warmup));
        }
        return (openLoop, spinning, other, lateness, $"{GC.CollectionCount(0) - gc.Item1}/{GC.CollectionCount(1) - gc.Item2}/{GC.CollectionCount(2) - gc.Item3}");
    }

    internal static async Task<Result> RunAsync(int rows, int batch, int rate, int seconds, int rounds, bool compareSpinning, bool compareInline,
        CancellationToken cancellationToken)
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }, cancellationToken: cancellationToken);
        var manager = server.Services.GetRequiredService<PipelineManager>();
        var pipeline = await manager.CreateAsync(HostBench.Spec, start: true, replace: false, null, cancellationToken);
        using var channel = HostClient.Open(server.Address, null);
        var messages = Math.Max(1, rows / batch);

        async Task<double> Measure(Protos.IngestRequest request)
        {
            var before = pipeline.Runtime.Memory!.Rows;
            var start = Stopwatch.GetTimestamp();
            var accepted = await HostBench.IngestAsync(channel, request, messages, cancellationToken);
            await HostBench.WaitForRowsAsync(() => pipeline.Runtime.Memory!.Rows - before, accepted, TimeSpan.FromMinutes(2));
            return accepted / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        double arrowRate = 0, protoRate = 0;
        if (rows > 0)
        {
            var arrow = HostBench.ArrowRequest(HostBench.ArrowPayload(batch));
            var proto = HostBench.RowsRequest(HostBench.ProtobufRows(batch));
            await Measure(arrow); // warm-up
            arrowRate = await Measure(arrow);
            protoRate = await Measure(proto);
        }

        await using var inlineServer = compareInline
            ? await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1, InlineSocketScheduling = true }, cancellationToken: cancellationToken)
            : null;
        if (inlineServer is not null)
            await inlineServer.Services.GetRequiredService<PipelineManager>().CreateAsync(HostBench.Spec, start: true, replace: false, null, cancellationToken);
        using var inlineChannel = inlineServer is null ? null : HostClient.Open(inlineServer.Address, null);
        var (openLoop, spinning, inlineIo, lateness, collections) = MeasureScore(channel, rate, seconds, rounds, compareSpinning, inlineChannel);
        List<(string, List<LongHistogram>)> score = [("open loop, sleeping scheduler", openLoop)];
        if (compareSpinning) score.Add(("closed loop, spinning scheduler (before)", spinning));
        if (compareInline) score.Add(("open loop, host with inline socket scheduling", inlineIo));
        return new Result(arrowRate, protoRate, score, lateness, pipeline.ScoreLatency.Snapshot(), collections);
    }
}
