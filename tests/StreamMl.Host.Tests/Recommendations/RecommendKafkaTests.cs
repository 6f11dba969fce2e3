using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Hosting;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>Interactions with string user and item ids produced to Kafka reach the next Recommend; a <c>streamml serve</c>
/// process killed with SIGKILL and started again from its recommend checkpoint and the group's committed offsets
/// answers, and counts its A/B test, exactly as a host that was never interrupted.</summary>
public sealed class RecommendKafkaTests(ITestOutputHelper output) : IDisposable
{
    private const string Topic = "interactions";
    // One partition: two hosts then read the events in the same total order, so even the floating-point sums of the
    // decayed popularity agree to the last bit.
    private const int Partitions = 1;
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-rec-kafka-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteSpec(string name, string bootstrap, string group)
    {
        var spec = Path.Combine(_folder, name + ".yaml");
        File.WriteAllText(spec, $$"""
            name: recs
            options: { batch_capacity: 64, flush_interval: 100ms }
            source:
              kind: kafka
              bootstrap: "{{bootstrap}}"
              topics: [{{Topic}}]
              group: {{group}}
              columns: { user: string, sku: string, ts: int64 }
              # A killed member's partitions return to the group after 6 s instead of librdkafka's 45 s.
              config: { session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
            recommend:
              user: user
              item: sku
              time: ts
              models:
                - { name: knn, kind: itemknn, neighbours: 20 }
                - { name: pop, kind: popularity }
              variants:
                - { name: A, model: knn, weight: 1 }
                - { name: B, model: pop, weight: 1 }
              checkpoint: {{name}}/recs.snapshot
            """);
        return spec;
    }

    /// <summary>Events of users u0..u39 over 60 SKUs, skewed, one second apart from <paramref name="first"/> on.</summary>
    private static List<(string User, string Sku, long Ts)> Events(int seed, int first, int count)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(first, count).Select(i =>
            ($"u{random.Next(40)}", $"sku-{(int)(60 * Math.Pow(random.NextDouble(), 2))}", 1_700_000_000_000_000L + i * 1_000_000L))];
    }

    /// <summary>Produces the events keyed by user (so one user's events stay in order on one partition).</summary>
    private static void Produce(string bootstrap, IEnumerable<(string User, string Sku, long Ts)> events)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 2 }).Build();
        foreach (var (user, sku, ts) in events)
            producer.Produce(Topic, new Message<string, string> { Key = user, Value = JsonSerializer.Serialize(new { user, sku, ts }) });
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
    }

    private static long Committed(string bootstrap, string group) =>
        KafkaTestClient.Committed(bootstrap, Topic, group, Partitions).Values.Where(o => o > 0).Sum();

    [Fact]
    public async Task An_interaction_produced_to_kafka_is_reflected_in_the_next_recommend_with_string_ids()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Topic, Partitions);
        Produce(cluster.BootstrapServers, Events(seed: 1, first: 0, count: 200));
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        options.PipelineSpecs.Add(WriteSpec("live", cluster.BootstrapServers, "live"));
        await using var server = await StreamMlServer.StartAsync(options);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new Protos.Recommendations.RecommendationsClient(channel);
        var state = server.Services.GetRequiredService<PipelineManager>().Get("recs").Runtime.Recommend!;
        await Eventually.TrueAsync(() => state.Interactions.Rows == 200, "the first 200 events to be learnt", seen: () => $"{state.Interactions.Rows}");

        // A new user's first event: once learnt, the next answer comes from the model (no longer the cold-start
        // fallback) and leaves the item out as seen.
        var cold = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = "newcomer", Variant = "A", K = 5 });
        Assert.True(cold.Fallback);
        Assert.Equal("unknown-user", cold.Source);
        var first = cold.Items[0].ItemId;
        Produce(cluster.BootstrapServers, [("newcomer", first, 1_800_000_000_000_000L)]);
        RecommendResponse? answer = null;
        await Eventually.TrueAsync(async () =>
        {
            answer = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = "newcomer", Variant = "A", K = 5 });
            return !answer.Fallback;
        }, "the newcomer's event to reach the model", seen: () => answer?.ToString() ?? "");
        Assert.Equal("newcomer", answer!.UserId);
        Assert.Equal("model", answer.Source);
        Assert.DoesNotContain(first, answer.Items.Select(i => i.ItemId));
        Assert.All(answer.Items, i => Assert.StartsWith("sku-", i.ItemId, StringComparison.Ordinal));
        Assert.All(answer.Items, i => Assert.Equal(0, i.Item)); // string items have no number

        // A brand-new SKU that many users take becomes the most popular item for everyone.
        Produce(cluster.BootstrapServers, Enumerable.Range(0, 40).Select(i => ($"u{i}", "sku-hot", 1_800_000_000_000_000L + 1 + i)));
        await Eventually.TrueAsync(async () =>
        {
            answer = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = "someone-else", Variant = "B", K = 1 });
            return answer.Items.Count == 1 && answer.Items[0].ItemId == "sku-hot";
        }, "sku-hot to top the popularity answer", seen: () => answer?.ToString() ?? "");

        // Filters name items as the events do; an item no event named is refused with the field and the item.
        var only = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = "u1", Variant = "B", K = 3, AllowedItemIds = { "sku-hot", "sku-3" } });
        Assert.Subset(new HashSet<string> { "sku-hot", "sku-3" }, only.Items.Select(i => i.ItemId).ToHashSet());
        var unknown = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() =>
            client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = "u1", AllowedItemIds = { "sku-nope" } }).ResponseAsync);
        Assert.Equal(global::Grpc.Core.StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal("Recommend: allowed_item_ids: item 'sku-nope' is unknown: no interaction has named it", unknown.Status.Detail);
    }

    [Fact]
    public async Task A_killed_serve_process_resumes_from_its_checkpoint_exactly_like_an_uninterrupted_host()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Topic, Partitions);
        var bootstrap = cluster.BootstrapServers;
        var killedSpec = WriteSpec("killed", bootstrap, "killed");
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        options.PipelineSpecs.Add(WriteSpec("steady", bootstrap, "steady"));
        await using var steady = await StreamMlServer.StartAsync(options);
        using var steadyChannel = GrpcChannel.ForAddress(steady.Address);
        var killed = await ServeProcess.StartAsync("--spec", killedSpec);
        try
        {
            var hosts = new[] { steadyChannel, killed.Channel() };
            async Task LearntAsync(long events)
            {
                foreach (var group in new[] { "steady", "killed" })
                    await Eventually.TrueAsync(() => Committed(bootstrap, group) == events, $"group {group} to commit {events} events",
                        TimeSpan.FromSeconds(60), () => $"{Committed(bootstrap, group)}");
            }

            // Both learn the same events, serve the same users (impressions), and see the same feedback.
            Produce(bootstrap, Events(seed: 7, first: 0, count: 400));
            await LearntAsync(400);
            foreach (var channel in hosts) await ServeAsync(channel);
            Produce(bootstrap, Events(seed: 8, first: 400, count: 150));
            await LearntAsync(550);
            // More events, and the kill comes while they stream in: some may be learnt but not committed, some not learnt.
            Produce(bootstrap, Events(seed: 9, first: 550, count: 150));
            killed.Process.Kill();
            Assert.True(await killed.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the serve process did not die after SIGKILL");
            output.WriteLine($"killed after the group committed {Committed(bootstrap, "killed")} of 700 events");
        }
        finally
        {
            killed.Dispose();
        }

        using var restarted = await ServeProcess.StartAsync("--spec", killedSpec);
        var restartedChannel = restarted.Channel();
        foreach (var group in new[] { "steady", "killed" })
            await Eventually.TrueAsync(() => Committed(bootstrap, group) == 700, $"group {group} to commit all 700 events", TimeSpan.FromSeconds(60));

        // The A/B test continues: the restarted host counts the impressions and feedback from before the kill.
        var expectedMetrics = await MetricsAsync(steadyChannel);
        Assert.Contains("clicked=", expectedMetrics);
        Assert.Equal(expectedMetrics, await MetricsAsync(restartedChannel));
        // Profiles and models too: every user's answers, from both variants, are the same.
        Assert.Equal(await ServeAsync(steadyChannel), await ServeAsync(restartedChannel));
        Assert.Equal(await MetricsAsync(steadyChannel), await MetricsAsync(restartedChannel));
    }

    /// <summary>Asks for users u0..u44 (u40..u44 unknown) by their variant, then by both; returns the answers.</summary>
    private static async Task<string> ServeAsync(GrpcChannel channel)
    {
        var client = new Protos.Recommendations.RecommendationsClient(channel);
        var lines = new List<string>();
        for (var user = 0; user < 45; user++)
            foreach (var variant in new[] { "", "A", "B" })
            {
                var answer = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", UserId = $"u{user}", K = 8, Variant = variant });
                lines.Add($"u{user}/{answer.Variant}/{answer.Source}: " + string.Join(",", answer.Items.Select(i => $"{i.ItemId}={i.Score.ToString("R", CultureInfo.InvariantCulture)}")));
            }
        return string.Join("\n", lines);
    }

    /// <summary>The A/B metrics that continue across a restart (latencies belong to the process and do not).</summary>
    private static async Task<string> MetricsAsync(GrpcChannel channel)
    {
        var report = await new Query.QueryClient(channel).GetMetricsAsync(new MetricsRequest { Pipeline = "recs" });
        Assert.Equal(2, report.RecommendVariants.Count);
        return string.Join("\n", report.RecommendVariants.Select(v =>
            $"{v.Variant}: users={v.Users} requests={v.Requests} fallbacks={v.Fallbacks} clicked={v.Clicked} resolved={v.Resolved} hits={v.Hits} " +
            $"distinct={v.DistinctItems} ctr={v.ClickThroughRate:R} [{v.ClickThroughLow:R}, {v.ClickThroughHigh:R}] hr={v.HitRate:R} [{v.HitRateLow:R}, {v.HitRateHigh:R}]")
            .Concat(report.RecommendComparisons.Select(c => $"{c.Variant} vs {c.Baseline}: ctr z={c.CtrZ:R} p={c.CtrPValue:R} hr z={c.HitRateZ:R} p={c.HitRatePValue:R}")));
    }
}
