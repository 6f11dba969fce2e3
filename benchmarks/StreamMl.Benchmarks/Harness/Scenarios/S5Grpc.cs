using System.Diagnostics;
using Grpc.Net.Client;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S5: gRPC into a running host on 127.0.0.1. Rows streamed by the Ingest RPC as Arrow IPC batches (StreamMl's
/// columnar path) against the same rows as protobuf messages, into the host's scoring pipeline, until the pipeline's
/// sink has them all; and unary Score at a fixed 1,000 requests/s from an open-loop client (each call starts on
/// schedule whatever the earlier ones are doing), whose latency from each request's scheduled
/// start is the p50/p99/p99.9 of the "Score (unary)" row. Uses the host's own <c>streamml bench</c> code.</summary>
public sealed class S5Grpc : IScenario
{
    private const int Batch = 4096;
    private static (StreamMlServer Server, ManagedPipeline Pipeline, GrpcChannel Channel)? s_host;

    /// <inheritdoc/>
    public string Id => "S5";

    /// <inheritdoc/>
    public string Title => "gRPC ingest into a scoring pipeline (Arrow IPC batches vs protobuf rows) and unary Score at 1,000/s";

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size)
    {
        if (s_host is not null) return;
        var server = StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }).GetAwaiter().GetResult();
        var manager = server.Services.GetRequiredService<PipelineManager>();
        var pipeline = manager.CreateAsync(HostBench.Spec, start: true, replace: false, null, CancellationToken.None).GetAwaiter().GetResult();
        s_host = (server, pipeline, HostClient.Open(server.Address, null));
    }

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Ingest("Ingest, Arrow IPC batches of 4,096", true, () => HostBench.ArrowRequest(HostBench.ArrowPayload(Batch))),
        new Ingest("Ingest, protobuf rows (4,096 per message)", false, () => HostBench.RowsRequest(HostBench.ProtobufRows(Batch))),
        new Score(),
    ];

    private static int Messages(ScenarioSize size) => size == ScenarioSize.Smoke ? 4 : 500;

    private sealed class Ingest(string name, bool isStreamMl, Func<StreamMl.Host.Protos.IngestRequest> request) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;
        public bool TimesItself => true;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var (_, pipeline, channel) = s_host!.Value;
            var message = request();
            var before = pipeline.Runtime.Memory!.Rows;
            var start = Stopwatch.GetTimestamp();
            var accepted = await HostBench.IngestAsync(channel, message, Messages(size), cancellationToken).ConfigureAwait(false);
            await HostBench.WaitForRowsAsync(() => pipeline.Runtime.Memory!.Rows - before, accepted, TimeSpan.FromMinutes(2)).ConfigureAwait(false);
            latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - start));
            return (accepted, (long)message.CalculateSize() * Messages(size));
        }
    }

    private sealed class Score : IScenarioVariant
    {
        public string Name => "Score (unary, 1 row) at 1,000 requests/s";
        public bool IsStreamMl => false;
        public bool LatencyOnly => true;

        public Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var requests = size == ScenarioSize.Smoke ? 200 : 3_000;
            // No warm-up inside the run: the harness runs every variant once before the measured rounds, and a warm-up here
            // would count in the rate the harness computes from the run's time.
            var micros = HostBench.ScoreAtRate(s_host!.Value.Channel, rate: 1000, requests, warmup: TimeSpan.Zero);
            // ScoreAtRate records microseconds; the harness histogram holds Stopwatch ticks.
            foreach (var value in micros.RecordedValues())
                latency.RecordValueWithCount(Math.Max(1, value.ValueIteratedTo * Stopwatch.Frequency / 1_000_000), value.CountAtValueIteratedTo);
            return Task.FromResult(((long)requests, 0L));
        }
    }
}
