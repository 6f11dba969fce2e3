using Apache.Arrow;
using Apache.Arrow.Ipc;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Schema = StreamMl.Engine.Schema;
using Field = StreamMl.Engine.Field;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>Messages whose schema does not match the pipeline's (an Arrow stream with a column of the wrong type, a
/// protobuf field with the wrong wire type) are dead letters with the reason, also on the dead-letter topic with their
/// original bytes; the messages around them are delivered and every offset is committed.</summary>
public sealed class KafkaSchemaMismatchTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(new Field("name", ColumnType.String), new Field("temp", ColumnType.Float32));

    private static byte[] ArrowMessage(int from, int rows, bool tempAsText)
    {
        var names = new StringArray.Builder();
        var floats = new FloatArray.Builder();
        var texts = new StringArray.Builder();
        for (var i = from; i < from + rows; i++)
        {
            names.Append($"n{i}");
            floats.Append(i * 0.5f);
            texts.Append($"{i * 0.5f} C");
        }
        var batch = new RecordBatch.Builder()
            .Append("name", true, names.Build())
            .Append("temp", true, tempAsText ? (IArrowArray)texts.Build() : floats.Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    [Fact]
    public async Task Arrow_messages_with_a_mismatched_schema_or_no_arrow_at_all_are_dead_lettered_with_their_bytes_and_the_rest_arrive()
    {
        using var cluster = new KafkaMockCluster();
        var mismatched = ArrowMessage(100, 5, tempAsText: true);
        var garbage = "not an arrow stream"u8.ToArray();
        // One partition's worth of order is enough: every message goes to partition 0.
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            producer.Produce(new TopicPartition("arrow", 0), new Message<string, byte[]> { Key = "good-1", Value = ArrowMessage(0, 10, tempAsText: false) });
            producer.Produce(new TopicPartition("arrow", 0), new Message<string, byte[]> { Key = "mismatched", Value = mismatched });
            producer.Produce(new TopicPartition("arrow", 0), new Message<string, byte[]> { Key = "garbage", Value = garbage });
            producer.Produce(new TopicPartition("arrow", 0), new Message<string, byte[]> { Key = "good-2", Value = ArrowMessage(10, 10, tempAsText: false) });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        }
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = cluster.BootstrapServers, Topics = ["arrow"], GroupId = "arrow", Schema = s_schema,
            Codec = new MessageCodecOptions { Format = MessageFormat.ArrowIpc }, DeadLetterTopic = "arrow.dlq",
        });
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "arrow" }).To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(20, TimeSpan.FromSeconds(60));
        var until = DateTime.UtcNow.AddSeconds(20);
        while (pipeline.DeadLetters.Count < 2 && DateTime.UtcNow < until) await Task.Delay(50);
        await pipeline.StopAsync();

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"name=n{i}|temp={i * 0.5f:R}"), sink.Rows.Select(r => r.Values));
        var letters = ((CollectingDeadLetterSink)pipeline.DeadLetters).Letters;
        foreach (var letter in letters) output.WriteLine($"{letter.Rule} {letter.Location}: {letter.Message}");
        Assert.Equal(2, letters.Count);
        Assert.All(letters, l => Assert.Equal("decode", l.Rule));
        Assert.Contains(letters, l => l.Location == "arrow[0]@1" && l.Message.Contains("temp", StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Location == "arrow[0]@2" && l.Message.Contains("Arrow", StringComparison.Ordinal));

        var dlq = cluster.ReadAll("arrow.dlq", 2);
        output.WriteLine($"dead-letter topic: {string.Join(", ", dlq.Select(m => System.Text.Encoding.UTF8.GetString(m.Message.Key!)))}");
        Assert.Equal(2, dlq.Count);
        Assert.Equal(mismatched, dlq.Single(m => System.Text.Encoding.UTF8.GetString(m.Message.Key!) == "mismatched").Message.Value);
        Assert.Equal(garbage, dlq.Single(m => System.Text.Encoding.UTF8.GetString(m.Message.Key!) == "garbage").Message.Value);
        Assert.All(dlq, m => Assert.True(m.Message.Headers.TryGetLastBytes("streamml.error", out var error) && error.Length > 0));
        Assert.Equal(4, cluster.Committed("arrow", "arrow")[0]);
    }

    [Fact]
    public async Task A_protobuf_field_with_the_wrong_wire_type_is_a_dead_letter_naming_the_field()
    {
        using var cluster = new KafkaMockCluster();
        // Field 1 (name) length-delimited, field 2 (temp) fixed32, as the schema maps them ...
        static byte[] Good(string name, float temp)
        {
            var bytes = new List<byte> { 0x0A, (byte)name.Length };
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(name));
            bytes.Add(0x15);
            bytes.AddRange(BitConverter.GetBytes(temp));
            return [.. bytes];
        }
        // ... and temp sent as a varint (wire type 0) by a producer with another schema.
        byte[] wrong = [0x0A, 0x01, (byte)'x', 0x10, 0x2A];
        cluster.ProduceBytes("proto", [Good("a", 1.5f), wrong, Good("b", 2.5f)]);
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = cluster.BootstrapServers, Topics = ["proto"], GroupId = "proto", Schema = s_schema,
            Codec = new MessageCodecOptions { Format = MessageFormat.Protobuf },
        });
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "proto" }).To(sink).Build();
        await pipeline.StartAsync();
        await sink.WaitForAsync(2, TimeSpan.FromSeconds(60));
        var until = DateTime.UtcNow.AddSeconds(20);
        while (pipeline.DeadLetters.Count < 1 && DateTime.UtcNow < until) await Task.Delay(50);
        await pipeline.StopAsync();

        Assert.Equal(["name=a|temp=1.5", "name=b|temp=2.5"], sink.Rows.Select(r => r.Values).Order(StringComparer.Ordinal));
        var letter = Assert.Single(((CollectingDeadLetterSink)pipeline.DeadLetters).Letters);
        output.WriteLine($"{letter.Location}: {letter.Message}");
        Assert.Equal("decode", letter.Rule);
        Assert.Contains("temp", letter.Message);
        Assert.Equal(Convert.ToBase64String(wrong), letter.Raw);
        Assert.Equal(cluster.EndOffsets("proto").Values.Sum(), cluster.Committed("proto", "proto").Values.Sum(o => Math.Max(o, 0)));
    }
}
