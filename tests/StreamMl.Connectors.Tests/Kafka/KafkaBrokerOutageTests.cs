using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>Every broker of the cluster goes away in the middle of a stream and comes back: the pipeline keeps running,
/// holds rows back instead of buffering them, and every record arrives.</summary>
public sealed class KafkaBrokerOutageTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(new Field("seq", ColumnType.Int64, Nullable: false), new Field("v", ColumnType.Float64));
    private static readonly TimeSpan s_outage = TimeSpan.FromSeconds(4);

    /// <summary>A short outage keeps the group membership; one longer than the session timeout loses the partitions
    /// (nothing may be committed for them) and the member joins again and re-reads from the committed offsets.</summary>
    [Theory]
    [InlineData(4, 10)]
    [InlineData(9, 6)]
    public async Task A_source_whose_brokers_all_go_down_and_come_back_keeps_running_and_delivers_every_record(int outageSeconds, int sessionTimeoutSeconds)
    {
        var outage = TimeSpan.FromSeconds(outageSeconds);
        using var cluster = new MockKafkaCluster();
        const string topic = "outage-in";
        Produce(cluster.BootstrapServers, topic, 0, 3000);
        var logs = new LogCapture();
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topics = [topic],
            GroupId = "outage",
            Schema = s_schema,
            LoggerFactory = logs,
            // A small prefetch, so rows the consumer holds while the brokers are away stay few.
            Config = { ["session.timeout.ms"] = (sessionTimeoutSeconds * 1000).ToString(CultureInfo.InvariantCulture), ["heartbeat.interval.ms"] = "500", ["queued.min.messages"] = "200", ["queued.max.messages.kbytes"] = "256" },
        });
        var sink = new CollectingSink(durableOnWrite: false, writeDelayMs: 20);
        var options = new PipelineOptions { Name = "outage", BatchCapacity = 100, RingSize = 4, FlushInterval = TimeSpan.FromMilliseconds(100) };
        await using var pipeline = Pipeline.From(source, options).To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(500, TimeSpan.FromSeconds(60));

        cluster.SetDown();
        var atOutage = sink.Count;
        var maxHeld = 0L;
        var until = DateTime.UtcNow + outage;
        var settled = DateTime.UtcNow.AddSeconds(1);
        var atSettled = -1;
        while (DateTime.UtcNow < until)
        {
            if (atSettled < 0 && DateTime.UtcNow > settled) atSettled = sink.Count;
            // Rows the source handed on but the sink has not taken yet: never more than the ring holds.
            maxHeld = Math.Max(maxHeld, pipeline.Stages[0].RowsOut - pipeline.Stages[^1].RowsIn);
            Assert.False(pipeline.Completion.IsCompleted, "the pipeline stopped while the brokers were down");
            await Task.Delay(20);
        }
        var duringOutage = sink.Count - atOutage;
        // The outage took effect: once the few prefetched rows were written, nothing more arrived until the brokers returned.
        Assert.Equal(atSettled, sink.Count);
        var committedDuringOutage = source.CommittedOffsets.Values.Sum();
        cluster.SetUp();
        // The pipeline also takes records written after the brokers came back.
        Produce(cluster.BootstrapServers, topic, 3000, 1000);

        var seqs = await WaitForDistinctAsync(sink, 4000, TimeSpan.FromSeconds(90));
        await WaitUntilAsync(() => source.CommittedOffsets.Values.Sum() == 4000, TimeSpan.FromSeconds(30));
        await pipeline.StopAsync();

        output.WriteLine($"{duringOutage} rows reached the sink during the {outageSeconds} s outage (already fetched); " +
                         $"at most {maxHeld} rows held between source and sink; {sink.Count} rows delivered in all");
        Assert.Equal(Enumerable.Range(0, 4000).Select(i => (long)i), seqs.Order());
        Assert.True(maxHeld <= options.RingSize * options.BatchCapacity, $"{maxHeld} rows were held between the stages");
        // Nothing could be committed while the brokers were away; afterwards every offset was.
        Assert.True(committedDuringOutage < 4000);
        Assert.Equal(4000, source.CommittedOffsets.Values.Sum());
        Assert.Equal(KafkaTestClient.EndOffsets(cluster.BootstrapServers, topic).Values.Sum(), KafkaTestClient.Committed(cluster.BootstrapServers, topic, "outage").Values.Sum());
        foreach (var line in logs.Lines.Where(l => l.Contains("lost", StringComparison.Ordinal) || l.Contains("assigned", StringComparison.Ordinal)
                                                   || l.Contains("commit failed", StringComparison.Ordinal)))
            output.WriteLine(line);
        var partitionsLost = logs.Lines.Any(l => l.Contains(" lost outage-in[", StringComparison.Ordinal));
        Assert.Equal(outage.TotalSeconds > sessionTimeoutSeconds, partitionsLost);
    }

    [Fact]
    public async Task A_sink_whose_brokers_go_down_and_come_back_loses_nothing_and_writes_nothing_twice()
    {
        using var cluster = new MockKafkaCluster();
        const string topic = "outage-out";
        const int n = 20_000;
        var source = new CountingSource(n, pauseMs: 10);
        var sink = new KafkaSink(new KafkaSinkOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topic = topic,
            KeyColumn = "seq",
            // A small local queue: while the brokers are away the sink blocks instead of buffering the whole stream.
            Config = { ["queue.buffering.max.messages"] = "1000" },
        });
        var options = new PipelineOptions { Name = "sink-outage", BatchCapacity = 100, RingSize = 4, FlushInterval = TimeSpan.FromMilliseconds(100) };
        await using var pipeline = Pipeline.From(source, options).To(sink).Build();
        await pipeline.StartAsync();
        await WaitUntilAsync(() => sink.Delivered >= 2000, TimeSpan.FromSeconds(60));

        cluster.SetDown();
        var producedAtOutage = source.Produced;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var deliveredAtSettled = sink.Delivered;
        await Task.Delay(s_outage - TimeSpan.FromSeconds(1));
        var producedDuringOutage = source.Produced - producedAtOutage;
        var deliveredDuringOutage = sink.Delivered;
        Assert.Equal(deliveredAtSettled, deliveredDuringOutage); // nothing was acknowledged while the brokers were away
        Assert.False(pipeline.Completion.IsCompleted, "the pipeline stopped while the brokers were down");
        cluster.SetUp();

        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"the source produced {producedDuringOutage} rows during the outage; {deliveredDuringOutage} acknowledged by its end");
        // Backpressure: what the source could produce while nothing was acknowledged is bounded by the producer's queue,
        // the ring and the batch being written.
        Assert.True(producedDuringOutage <= 1000 + (options.RingSize + 2) * options.BatchCapacity, $"{producedDuringOutage} rows produced during the outage");

        var messages = KafkaTestClient.ReadAll(cluster.BootstrapServers, topic, n, keepReading: TimeSpan.FromSeconds(1));
        var seqs = messages.Select(m => long.Parse(Encoding.UTF8.GetString(m.Message.Key!), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(n, seqs.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), seqs.Order()); // every row once: the idempotent producer did not duplicate retries
        foreach (var message in messages.Take(50))
        {
            using var doc = JsonDocument.Parse(message.Message.Value);
            Assert.Equal(long.Parse(Encoding.UTF8.GetString(message.Message.Key!), CultureInfo.InvariantCulture), doc.RootElement.GetProperty("seq").GetInt64());
        }
        Assert.Equal(n, source.CommittedRows);
    }

    private static async Task<List<long>> WaitForDistinctAsync(CollectingSink sink, int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var seqs = sink.Rows.Select(r => long.Parse(r.Get("seq"), CultureInfo.InvariantCulture)).Distinct().ToList();
            if (seqs.Count >= count) return seqs;
            if (DateTime.UtcNow > until) throw new TimeoutException($"{seqs.Count} distinct records arrived, expected {count}");
            await Task.Delay(50);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("condition not met in " + timeout);
            await Task.Delay(20);
        }
    }

    private static void Produce(string bootstrap, string topic, int from, int count) =>
        KafkaTestClient.Produce(bootstrap, topic,
            Enumerable.Range(from, count).Select(i => ((string?)$"k{i}", JsonSerializer.Serialize(new { seq = i, v = i * 0.5 }))));

    /// <summary>A bounded source of rows (seq, v = seq / 2), one batch per <paramref name="pauseMs"/> at most, that counts
    /// what it produced and what was committed.</summary>
    private sealed class CountingSource(int total, int pauseMs) : IBatchSource
    {
        private long _next;
        private long _committed;

        public string Name => "counting";
        public Schema Schema => s_schema;
        public long Produced => Interlocked.Read(ref _next);
        public long CommittedRows => Interlocked.Read(ref _committed);

        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            Thread.Sleep(pauseMs);
            var seq = batch[batch.Schema.Require("seq", ColumnType.Int64)];
            var v = batch[batch.Schema.Require("v", ColumnType.Float64)];
            var row = 0;
            var next = _next;
            while (row < batch.Capacity && next < total)
            {
                seq.SetValid(row);
                seq.Values<long>()[row] = next;
                v.SetValid(row);
                v.Values<double>()[row] = next * 0.5;
                batch.EventTimesBuffer[row] = 1_700_000_000_000_000 + next;
                batch.RowOffsetsBuffer[row] = next;
                batch.RowPartitionsBuffer[row] = 0;
                row++;
                next++;
            }
            if (row > 0) batch.Positions.Add(0, next - row, next);
            batch.Length = row;
            Interlocked.Exchange(ref _next, next);
            return ValueTask.FromResult(next < total);
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges)
        {
            foreach (var range in ranges)
                if (range.End > Interlocked.Read(ref _committed)) Interlocked.Exchange(ref _committed, range.End);
        }

        public string Describe(int partition, long offset) => $"row {offset}";

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
