using System.Globalization;
using System.Text.Json;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Delivery;

/// <summary>At-least-once across restarts: every record reaches a sink, and a record is delivered twice only when it
/// lies after the last checkpoint the first run committed.</summary>
public sealed class KafkaDeliveryTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(new Field("seq", ColumnType.Int64, Nullable: false), new Field("v", ColumnType.Float64));

    private static KafkaSourceOptions Options(KafkaMockCluster cluster, string topic, string group) => new()
    {
        BootstrapServers = cluster.BootstrapServers,
        Topics = [topic],
        GroupId = group,
        Schema = s_schema,
        Config = { ["session.timeout.ms"] = "6000" },
    };

    private static bool CommittedToTheEnd(KafkaMockCluster cluster, string topic, string group)
    {
        var ends = cluster.EndOffsets(topic);
        return cluster.Committed(topic, group).All(kv => kv.Value == ends[kv.Key] || ends[kv.Key] == 0);
    }

    private static void Produce(KafkaMockCluster cluster, string topic, int from, int count) =>
        cluster.Produce(topic, Enumerable.Range(from, count).Select(i => ((string?)$"k{i}", JsonSerializer.Serialize(new { seq = i, v = i * 0.5 }))));

    [Fact]
    public async Task A_crashed_pipeline_restarted_delivers_everything_with_duplicates_only_after_the_last_checkpoint()
    {
        using var cluster = new KafkaMockCluster();
        const int n = 6000;
        Produce(cluster, "orders", 0, n);

        // First run: the sink buffers (durable only when flushed) and crashes in the middle of a batch, after 2,650 rows.
        var crashing = new CollectingSink(durableOnWrite: false, crashAfterRows: 2650, writeDelayMs: 15);
        var first = Pipeline.From(new KafkaSource(Options(cluster, "orders", "delivery")), new PipelineOptions
        {
            Name = "first", ErrorPolicy = ErrorPolicy.Stop, BatchCapacity = 200, FlushInterval = TimeSpan.FromMilliseconds(30),
        }).To(crashing).Build();
        await first.StartAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => first.Completion.WaitAsync(TimeSpan.FromSeconds(60)));
        await first.DisposeAsync();
        var checkpoint = cluster.Committed("orders", "delivery");
        output.WriteLine($"crashed after {crashing.Count} rows ({crashing.DurableRows} durable); committed {string.Join(", ", checkpoint.Select(kv => $"{kv.Key}:{kv.Value}"))}");
        Assert.Equal(2650, crashing.Count);
        Assert.True(crashing.DurableRows < crashing.Count, "rows written after the last flush are not durable");
        Assert.True(crashing.DurableRows > 0, "some batches must have been made durable (and committed) before the crash");
        Assert.True(checkpoint.Values.Sum(o => Math.Max(o, 0)) < n, "the crash must leave something uncommitted");

        // Second run, same group: resumes at the committed offsets.
        var sink = new CollectingSink();
        await using (var second = Pipeline.From(new KafkaSource(Options(cluster, "orders", "delivery")), new PipelineOptions { Name = "second" }).To(sink).Build())
        {
            await second.StartAsync();
            var expectedSecond = checkpoint.Sum(kv => cluster.EndOffsets("orders")[kv.Key] - Math.Max(kv.Value, 0));
            await sink.WaitForAsync((int)expectedSecond, TimeSpan.FromSeconds(60));
            // Committed at the end offsets: every record was written, so no late re-delivery can still come.
            await Eventually.TrueAsync(() => CommittedToTheEnd(cluster, "orders", "delivery"), "the second run to commit every partition to its end");
            await second.StopAsync();
        }

        var all = crashing.Rows.Concat(sink.Rows).ToList();
        Assert.Equal(n, all.Select(r => r.Get("seq")).Distinct().Count());
        var firstSeen = crashing.Rows.Select(r => (r.Partition, r.Offset)).ToHashSet();
        var duplicates = sink.Rows.Where(r => firstSeen.Contains((r.Partition, r.Offset))).ToList();
        output.WriteLine($"second run: {sink.Count} rows, {duplicates.Count} delivered before the crash too");
        Assert.All(duplicates, d => Assert.True(d.Offset >= checkpoint[d.Partition], $"partition {d.Partition} offset {d.Offset} was before the checkpoint {checkpoint[d.Partition]}"));
        // And the second run re-read exactly from the checkpoint: nothing committed was read again.
        Assert.All(sink.Rows, r => Assert.True(r.Offset >= Math.Max(checkpoint[r.Partition], 0)));
        // Every row the crashed sink had made durable is behind the checkpoint (it was committed).
        var durable = crashing.Rows.Take(crashing.DurableRows).ToList();
        Assert.All(durable, r => Assert.True(r.Offset < checkpoint[r.Partition]));
    }

    [Fact]
    public async Task A_cancelled_pipeline_drains_commits_and_its_restart_delivers_the_rest_exactly_once()
    {
        using var cluster = new KafkaMockCluster();
        Produce(cluster, "cancel", 0, 3000);
        var firstSink = new CollectingSink(durableOnWrite: false);
        using var cancel = new CancellationTokenSource();
        var first = Pipeline.From(new KafkaSource(Options(cluster, "cancel", "g")), new PipelineOptions { Name = "a", BatchCapacity = 100, FlushInterval = TimeSpan.FromMilliseconds(20) })
            .To(firstSink).Build();
        var run = first.RunAsync(cancel.Token);
        await firstSink.WaitForAsync(1000, TimeSpan.FromSeconds(60));
        cancel.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        await first.DisposeAsync();
        Produce(cluster, "cancel", 3000, 1000);

        var secondSink = new CollectingSink();
        await using (var second = Pipeline.From(new KafkaSource(Options(cluster, "cancel", "g")), new PipelineOptions { Name = "b" }).To(secondSink).Build())
        {
            await second.StartAsync();
            await secondSink.WaitForAsync(4000 - firstSink.Count, TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(() => CommittedToTheEnd(cluster, "cancel", "g"), "the second run to commit every partition to its end");
            await second.StopAsync();
        }
        var seqs = firstSink.Rows.Concat(secondSink.Rows).Select(r => long.Parse(r.Get("seq"), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(4000, seqs.Count);
        Assert.Equal(Enumerable.Range(0, 4000).Select(i => (long)i), seqs.Order());
    }
}
