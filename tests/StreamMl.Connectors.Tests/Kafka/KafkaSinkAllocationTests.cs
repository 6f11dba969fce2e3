using System.Text;
using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Kafka;

public sealed class KafkaSinkAllocationTests
{
    private static readonly Schema s_schema = new(new Field("device", ColumnType.String), new Field("score", ColumnType.Float32));

    // Confluent.Kafka's typed Produce wraps every message's delivery handler in a small object of its own (topic, key,
    // value and handler references: 48 bytes on x64) while delivery reports are on, and the sink needs those reports
    // to learn about failed deliveries. Everything the sink itself allocates per row is gone.
    private const double ClientShimBytesPerMessage = 48;

    private static ColumnBatch Batch(int rows, int salt)
    {
        var batch = new ColumnBatch(s_schema, rows);
        for (var row = 0; row < rows; row++)
        {
            batch[0].SetValid(row);
            batch[0].Values<int>()[row] = batch[0].Dictionary!.GetOrAdd($"device-{(row + salt) % 37}");
            batch[1].SetValid(row);
            // lengths of the JSON text vary from row to row, so the sink's per-length buffers are exercised
            batch[1].Values<float>()[row] = (row + salt) % 7 == 0 ? row : row * 0.37f + salt;
            batch.EventTimesBuffer[row] = 1_700_000_000_000_000L + row * 1000L;
        }
        batch.Length = rows;
        return batch;
    }

    [Fact]
    public async Task Sink_allocates_nothing_of_its_own_per_row_and_reused_buffers_do_not_corrupt_messages()
    {
        using var cluster = new KafkaMockCluster();
        const string topic = "alloc";
        var sink = new KafkaSink(new KafkaSinkOptions
        {
            BootstrapServers = cluster.BootstrapServers, Topic = topic, KeyColumn = "device",
        });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), default);
        using var large = Batch(2048, 1);
        using var small = Batch(256, 2);
        try
        {
            // Warm-up: JIT, the per-length buffers, librdkafka's topic handle.
            for (var i = 0; i < 3; i++)
            {
                sink.Write(large, i);
                sink.Write(small, i);
                sink.Flush();
            }
            var perRow = new List<double>();
            for (var round = 0; round < 3; round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                sink.Write(large, 10 + round);
                var largeBytes = GC.GetAllocatedBytesForCurrentThread() - before;
                sink.Flush();
                before = GC.GetAllocatedBytesForCurrentThread();
                sink.Write(small, 10 + round);
                var smallBytes = GC.GetAllocatedBytesForCurrentThread() - before;
                sink.Flush();
                perRow.Add((largeBytes - smallBytes) / (double)(large.Length - small.Length));
            }
            // The old write path (a value array, a key array and a Message per row) allocated about 200 bytes per row.
            Assert.True(perRow.Min() <= ClientShimBytesPerMessage,
                $"the sink allocated {perRow.Min():F1} bytes per row; only the client's {ClientShimBytesPerMessage}-byte delivery shim is expected");
        }
        finally
        {
            await sink.DisposeAsync();
        }

        // Every message carries its own row's key and value although the sink overwrote the same arrays: compare with a
        // reference built by System.Text.Json from the batches' cells.
        var expected = new List<string>();
        foreach (var (batch, times) in new[] { (large, 3 + 3), (small, 3 + 3) })
            for (var t = 0; t < times; t++)
                for (var row = 0; row < batch.Length; row++)
                {
                    var device = batch[0].Dictionary![batch[0].Values<int>()[row]];
                    var score = batch[1].Values<float>()[row];
                    expected.Add($"{device}|{device}|{score.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
                }
        var read = cluster.ReadAll(topic, expected.Count, TimeSpan.FromSeconds(60));
        var actual = read.Select(r =>
        {
            using var json = JsonDocument.Parse(r.Message.Value);
            var score = json.RootElement.GetProperty("score").GetSingle();
            return $"{Encoding.UTF8.GetString(r.Message.Key!)}|{json.RootElement.GetProperty("device").GetString()}|{score.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
        }).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal).ToList(), actual);
    }
    [Fact]
    public async Task Arrow_sink_writes_a_partly_rejected_batch_larger_than_the_default_capacity()
    {
        // Pipelines may run batches above ColumnBatch.DefaultCapacity; the Arrow sink gathers the selected rows of a
        // partly rejected batch into a scratch batch, which must hold them all.
        using var cluster = new KafkaMockCluster();
        const string topic = "arrow-big";
        var sink = new KafkaSink(new KafkaSinkOptions
        {
            BootstrapServers = cluster.BootstrapServers, Topic = topic, Codec = new MessageCodecOptions { Format = MessageFormat.ArrowIpc },
        });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), default);
        using var batch = Batch(ColumnBatch.DefaultCapacity * 2, 3);
        batch.Selection.Deselect(5);
        try
        {
            sink.Write(batch, 0);
            sink.Flush();
        }
        finally
        {
            await sink.DisposeAsync();
        }

        // Read back with Apache Arrow's own reader.
        var message = Assert.Single(cluster.ReadAll(topic, 1));
        using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(new MemoryStream(message.Message.Value));
        var rows = 0;
        var scores = new List<float>();
        while (reader.ReadNextRecordBatch() is { } recordBatch)
            using (recordBatch)
            {
                rows += recordBatch.Length;
                var column = (Apache.Arrow.FloatArray)recordBatch.Column("score");
                for (var i = 0; i < column.Length; i++) scores.Add(column.GetValue(i)!.Value);
            }
        Assert.Equal(batch.Length - 1, rows);
        var expected = Enumerable.Range(0, batch.Length).Where(r => r != 5).Select(r => batch.Values<float>(1)[r]);
        Assert.Equal(expected, scores);
    }
}
