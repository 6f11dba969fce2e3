using System.Diagnostics;
using Grpc.Net.Client;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Cli;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S8: Recommend (k 10, seen items left out) over a 10,000-item catalogue at 1,000 requests/s from an
/// open-loop client (each call starts on schedule whatever the earlier ones are doing; latency from its scheduled
/// start), on a host on 127.0.0.1 whose pipeline first learnt generated interactions through Ingest (every item once,
/// then a skewed draw: <see cref="RecommendBench.Interactions"/>). Item-kNN (100 neighbours) and popularity are asked
/// by variant override, and unary Score of one row at the same rate on the same host is the peer that shows what the
/// gRPC round trip alone costs in the same rounds; ServerLive, which does no work, is the floor of that round trip. Uses the host's own <c>streamml bench --recommend</c> code.</summary>
public sealed class S8RecommendLatency : IScenario
{
    private const int Rate = 1000;
    private static (StreamMlServer Server, GrpcChannel Channel, int Users)? s_host;

    /// <inheritdoc/>
    public string Id => "S8";

    /// <inheritdoc/>
    public string Title => "Recommend (k 10, 10,000-item catalogue) at 1,000 requests/s, open loop, against unary Score at the same rate";

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size)
    {
        if (s_host is not null) return;
        // Full: 5,000 users × 40 events (200,000, as `bench --recommend`); smoke: 300 users × 40 still covers every item.
        var users = size == ScenarioSize.Smoke ? 300 : 5_000;
        var server = StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }).GetAwaiter().GetResult();
        var manager = server.Services.GetRequiredService<PipelineManager>();
        var pipeline = manager.CreateAsync(RecommendBench.Spec, start: true, replace: false, null, CancellationToken.None).GetAwaiter().GetResult();
        manager.CreateAsync(HostBench.Spec, start: true, replace: false, null, CancellationToken.None).GetAwaiter().GetResult();
        var channel = HostClient.Open(server.Address, null);
        var accepted = RecommendBench.LoadAsync(channel, users, 40, CancellationToken.None).GetAwaiter().GetResult();
        var state = pipeline.Runtime.Recommend!;
        HostBench.WaitForRowsAsync(() => state.Interactions.Rows, accepted, TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
        if (state.Models[0].Stats.Items != RecommendBench.Items)
            throw new InvalidOperationException($"the catalogue has {state.Models[0].Stats.Items} items, expected {RecommendBench.Items}");
        s_host = (server, channel, users);
    }

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new AtRate("Recommend item-kNN (k 10) at 1,000 requests/s", true, (channel, users, requests) => RecommendBench.RecommendAtRate(channel, users, Rate, requests, TimeSpan.Zero, "A")),
        new AtRate("Recommend popularity (k 10) at 1,000 requests/s", false, (channel, users, requests) => RecommendBench.RecommendAtRate(channel, users, Rate, requests, TimeSpan.Zero, "B")),
        new AtRate("reference: Score (unary, 1 row) at 1,000 requests/s", false, (channel, _, requests) => HostBench.ScoreAtRate(channel, Rate, requests, TimeSpan.Zero)),
        new AtRate("reference: ServerLive (no work behind it: the transport floor) at 1,000 requests/s", false, (channel, _, requests) => ServerLiveAtRate(channel, requests)),
    ];

    private static LongHistogram ServerLiveAtRate(GrpcChannel channel, int requests)
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ServerLiveRequest();
        client.ServerLive(request); // opens the stream path before the schedule starts
        return HostBench.AtRate(() => client.ServerLiveAsync(request).ResponseAsync, Rate, requests, TimeSpan.Zero);
    }

    /// <summary>Calls per run: 5 s at the rate, or 0.2 s in a smoke run.</summary>
    internal static int Requests(ScenarioSize size) => size == ScenarioSize.Smoke ? 200 : 5 * Rate;

    private sealed class AtRate(string name, bool isStreamMl, Func<GrpcChannel, int, int, LongHistogram> measure) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;
        public bool LatencyOnly => true;

        public Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var (_, channel, users) = s_host!.Value;
            var requests = Requests(size);
            // No warm-up inside the run: the harness runs every variant once before the measured rounds, and a warm-up here
            // would count in the rate the harness computes from the run's time.
            var micros = measure(channel, users, requests);
            // The open-loop client records microseconds; the harness histogram holds Stopwatch ticks.
            foreach (var value in micros.RecordedValues())
                latency.RecordValueWithCount(Math.Max(1, value.ValueIteratedTo * Stopwatch.Frequency / 1_000_000), value.CountAtValueIteratedTo);
            return Task.FromResult(((long)micros.TotalCount, 0L));
        }
    }
}
