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
        var rows = new Option<int>("--rows") { Description = "Rows to ingest per format", DefaultValueFactory = _ => 2_000_000 };
        var batch = new Option<int>("--batch") { Description = "Rows per Ingest message", DefaultValueFactory = _ => 4096 };
        var rate = new Option<int>("--rate") { Description = "Score requests per second", DefaultValueFactory = _ => 1000 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of Score requests", DefaultValueFactory = _ => 5 };
        var command = new Command("bench", "Measure gRPC ingest rows/s (Arrow vs protobuf) and Score latency on this machine") { rows, batch, rate, seconds };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var result = await RunAsync(parse.GetValue(rows), parse.GetValue(batch), parse.GetValue(rate), parse.GetValue(seconds), ct);
            output.WriteLine($"ingest, Arrow IPC batches of {parse.GetValue(batch)}: {result.ArrowRowsPerSecond,12:N0} rows/s");
            output.WriteLine($"ingest, protobuf rows ({parse.GetValue(batch)} per message): {result.ProtobufRowsPerSecond,12:N0} rows/s");
            output.WriteLine($"ratio Arrow/protobuf: {result.ArrowRowsPerSecond / result.ProtobufRowsPerSecond:F1}x");
            output.WriteLine($"Score at {parse.GetValue(rate)}/s: p50 {result.ScoreP50Us} us, p99 {result.ScoreP99Us} us, max {result.ScoreMaxUs} us (client side)");
            output.WriteLine($"Score inside the host: p50 {result.Server.P50Us} us, p99 {result.Server.P99Us} us over {result.Server.Count:N0} calls");
            return ExitCodes.Ok;
        });
        return command;
    }

    internal sealed record Result(double ArrowRowsPerSecond, double ProtobufRowsPerSecond, long ScoreP50Us, long ScoreP99Us, long ScoreMaxUs,
        Protos.LatencyPercentiles Server);

    internal static async Task<Result> RunAsync(int rows, int batch, int rate, int seconds, CancellationToken cancellationToken)
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

        var arrow = HostBench.ArrowRequest(HostBench.ArrowPayload(batch));
        var proto = HostBench.RowsRequest(HostBench.ProtobufRows(batch));
        await Measure(arrow); // warm-up
        var arrowRate = await Measure(arrow);
        var protoRate = await Measure(proto);
        var histogram = HostBench.ScoreAtRate(channel, rate, rate * seconds);
        return new Result(arrowRate, protoRate, histogram.GetValueAtPercentile(50), histogram.GetValueAtPercentile(99), histogram.GetMaxValue(),
            pipeline.ScoreLatency.Snapshot());
    }
}
