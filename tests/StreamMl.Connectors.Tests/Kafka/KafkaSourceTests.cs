using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Kafka;

public sealed class KafkaSourceTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(
        new Field("device", ColumnType.String),
        new Field("temp", ColumnType.Float32),
        new Field("count", ColumnType.Int64),
        new Field("ok", ColumnType.Bool),
        new Field("ts", ColumnType.Timestamp));

    private static KafkaSourceOptions Options(KafkaMockCluster cluster, string topic, string group) => new()
    {
        BootstrapServers = cluster.BootstrapServers,
        Topics = [topic],
        GroupId = group,
        Schema = s_schema,
        EventTimeColumn = "ts",
        Config = { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" },
    };

    private static string Json(int i) => JsonSerializer.Serialize(new
    {
        device = $"dev-{i % 7}",
        temp = 20f + i / 8f,
        count = (long)i * 1_000_003,
        ok = i % 3 == 0,
        ts = DateTime.UnixEpoch.AddMilliseconds(1_700_000_000_000L + i).ToString("O", CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task Json_messages_with_keys_and_headers_reach_the_sink_and_offsets_are_committed_after_durability()
    {
        using var cluster = new KafkaMockCluster();
        const int n = 3000;
        var headers = new Headers { { "site", Encoding.UTF8.GetBytes("plant-7") } };
        cluster.Produce("telemetry", Enumerable.Range(0, n).Select(i => ((string?)$"k{i}", Json(i))), headers);

        var options = Options(cluster, "telemetry", "g1");
        options.KeyColumn = "key";
        options.HeaderColumns["site"] = "site";
        var source = new KafkaSource(options);
        var sink = new CollectingSink(durableOnWrite: false);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "json", BatchCapacity = 512, FlushInterval = TimeSpan.FromMilliseconds(100) })
            .To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(n, TimeSpan.FromSeconds(60));
        await pipeline.StopAsync();

        // Every message once, values equal to what System.Text.Json wrote.
        var byKey = sink.Rows.ToDictionary(r => r.Get("key"));
        Assert.Equal(n, byKey.Count);
        for (var i = 0; i < n; i += 97)
        {
            var row = byKey[$"k{i}"];
            using var doc = JsonDocument.Parse(Json(i));
            Assert.Equal(doc.RootElement.GetProperty("device").GetString(), row.Get("device"));
            Assert.Equal(doc.RootElement.GetProperty("temp").GetSingle(), float.Parse(row.Get("temp"), CultureInfo.InvariantCulture));
            Assert.Equal(doc.RootElement.GetProperty("count").GetInt64(), long.Parse(row.Get("count"), CultureInfo.InvariantCulture));
            Assert.Equal(doc.RootElement.GetProperty("ok").GetBoolean() ? "true" : "false", row.Get("ok"));
            var expectedMicros = (doc.RootElement.GetProperty("ts").GetDateTimeOffset().UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
            Assert.Equal(expectedMicros.ToString(CultureInfo.InvariantCulture), row.Get("ts"));
            Assert.Equal(expectedMicros, row.EventTime);
            Assert.Equal("plant-7", row.Get("site"));
        }
        // The group's committed offsets, read back through a separate client, are the partitions' ends.
        Assert.Equal(cluster.EndOffsets("telemetry"), cluster.Committed("telemetry", "g1"));
    }

    [Fact]
    public async Task Undecodable_messages_go_to_the_dead_letter_topic_with_the_error_and_their_offsets_are_committed()
    {
        using var cluster = new KafkaMockCluster();
        var messages = Enumerable.Range(0, 200).Select(i => i % 10 == 3
            ? ((string?)$"bad{i}", i % 20 == 3 ? "{\"device\": \"d\", \"temp\": \"hot\"}" : "not json at all")
            : ((string?)$"k{i}", Json(i))).ToList();
        cluster.Produce("mixed", messages);

        var options = Options(cluster, "mixed", "g-dlq");
        options.DeadLetterTopic = "mixed.dlq";
        options.KeyColumn = "key";
        var source = new KafkaSource(options);
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "dlq" }).To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(180, TimeSpan.FromSeconds(60));
        var until = DateTime.UtcNow.AddSeconds(20);
        while (pipeline.DeadLetters.Count < 20 && DateTime.UtcNow < until) await Task.Delay(50);
        await pipeline.StopAsync();

        Assert.Equal(180, sink.Count);
        Assert.DoesNotContain(sink.Rows, r => r.Get("key").StartsWith("bad", StringComparison.Ordinal));
        var letters = ((CollectingDeadLetterSink)pipeline.DeadLetters).Letters;
        Assert.Equal(20, letters.Count);
        Assert.Contains(letters, l => l.Message.Contains("'temp'", StringComparison.Ordinal) && l.Location.StartsWith("mixed[", StringComparison.Ordinal));

        var dlq = cluster.ReadAll("mixed.dlq", 20);
        Assert.Equal(20, dlq.Count);
        foreach (var message in dlq)
        {
            Assert.StartsWith("bad", Encoding.UTF8.GetString(message.Message.Key!));
            var original = messages.Single(m => m.Item1 == Encoding.UTF8.GetString(message.Message.Key!)).Item2;
            Assert.Equal(original, Encoding.UTF8.GetString(message.Message.Value));
            Assert.True(message.Message.Headers.TryGetLastBytes("streamml.error", out var error));
            Assert.NotEmpty(error);
        }
        Assert.Equal(cluster.EndOffsets("mixed"), cluster.Committed("mixed", "g-dlq"));
    }

    [Fact]
    public async Task Json_with_invalid_utf8_is_dead_lettered_not_skipped()
    {
        // A decoder exception inside the value deserializer used to surface as a ConsumeException, which the source
        // logged and skipped: the message was neither delivered nor dead-lettered, and later offsets were committed.
        using var cluster = new KafkaMockCluster();
        var payloads = Enumerable.Range(0, 100).Select(i => i % 10 == 4
            ? [.. "{\"device\":\"d"u8, 0xFF, .. "\",\"count\":1}"u8]
            : Encoding.UTF8.GetBytes(Json(i))).ToList();
        cluster.ProduceBytes("utf8", payloads);

        var source = new KafkaSource(Options(cluster, "utf8", "g-utf8"));
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "utf8" }).To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(90, TimeSpan.FromSeconds(60));
        var until = DateTime.UtcNow.AddSeconds(20);
        while (pipeline.DeadLetters.Count < 10 && DateTime.UtcNow < until) await Task.Delay(50);
        await pipeline.StopAsync();

        Assert.Equal(90, sink.Count);
        var letters = ((CollectingDeadLetterSink)pipeline.DeadLetters).Letters;
        Assert.Equal(10, letters.Count);
        Assert.All(letters, l => Assert.Contains("UTF-8", l.Message, StringComparison.Ordinal));
        // Keyless messages may all land on one partition; the partitions that hold messages are committed to their ends.
        var committed = cluster.Committed("utf8", "g-utf8");
        foreach (var (partition, end) in cluster.EndOffsets("utf8").Where(p => p.Value > 0))
            Assert.Equal(end, committed[partition]);
    }

    [Fact]
    public async Task Two_members_of_one_group_split_the_partitions_and_the_survivor_takes_over_without_losing_records()
    {
        using var cluster = new KafkaMockCluster();
        const string topic = "scale";
        cluster.Produce(topic, Enumerable.Range(0, 2000).Select(i => ((string?)$"k{i}", Json(i))));

        var sinkA = new CollectingSink();
        var sinkB = new CollectingSink();
        var sourceA = new KafkaSource(Options(cluster, topic, "scale-group"));
        var sourceB = new KafkaSource(Options(cluster, topic, "scale-group"));
        var a = Pipeline.From(sourceA, new PipelineOptions { Name = "a", BatchCapacity = 256 }).To(sinkA).Build();
        await using var b = Pipeline.From(sourceB, new PipelineOptions { Name = "b", BatchCapacity = 256 }).To(sinkB).Build();
        await a.StartAsync();
        await b.StartAsync();

        // Both members own partitions at the same time (the group split them).
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((sourceA.Assignment.Count == 0 || sourceB.Assignment.Count == 0 || sourceA.Assignment.Count + sourceB.Assignment.Count != 4)
               && DateTime.UtcNow < until)
            await Task.Delay(50);
        output.WriteLine($"A owns {string.Join(",", sourceA.Assignment)}; B owns {string.Join(",", sourceB.Assignment)}");
        Assert.NotEmpty(sourceA.Assignment);
        Assert.NotEmpty(sourceB.Assignment);
        Assert.Empty(sourceA.Assignment.Intersect(sourceB.Assignment));

        await Task.WhenAll(sinkA.WaitForAsync(1, TimeSpan.FromSeconds(30)), sinkB.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        // A stops (drains, commits, leaves the group); B takes every partition and reads the rest, also new records.
        await a.StopAsync();
        await a.DisposeAsync();
        cluster.Produce(topic, Enumerable.Range(2000, 1000).Select(i => ((string?)$"k{i}", Json(i))));
        until = DateTime.UtcNow.AddSeconds(60);
        while (DistinctKeys(sinkA, sinkB) < 3000 && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.Equal(4, sourceB.Assignment.Count);
        await b.StopAsync();

        Assert.Equal(3000, DistinctKeys(sinkA, sinkB));
        output.WriteLine($"A delivered {sinkA.Count}, B delivered {sinkB.Count}, duplicates {sinkA.Count + sinkB.Count - 3000}");
        // At-least-once: a duplicate may only come from a partition that changed hands, from offsets past what A committed.
        Assert.Equal(cluster.EndOffsets(topic), cluster.Committed(topic, "scale-group"));
    }

    private static int DistinctKeys(params CollectingSink[] sinks) =>
        sinks.SelectMany(s => s.Rows).Select(r => (r.Partition, r.Offset)).Distinct().Count();
}
