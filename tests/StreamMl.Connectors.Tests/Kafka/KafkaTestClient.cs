using Confluent.Kafka;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>Plain Confluent.Kafka clients the tests produce with and check against, for any cluster reachable at
/// <c>bootstrap</c> (the in-process <c>KafkaMockCluster</c> or the broker-controllable <c>MockKafkaCluster</c>).</summary>
internal static class KafkaTestClient
{
    /// <summary>Produces string messages (JSON or CSV text) and waits for them to be acknowledged.</summary>
    public static void Produce(string bootstrap, string topic, IEnumerable<(string? Key, string Value)> messages, Headers? headers = null)
    {
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 2 }).Build();
        foreach (var (key, value) in messages)
            producer.Produce(topic, new Message<string?, string> { Key = key, Value = value, Headers = headers });
        if (producer.Flush(TimeSpan.FromSeconds(30)) > 0) throw new TimeoutException("mock cluster did not acknowledge");
    }

    /// <summary>Produces raw payloads.</summary>
    public static void ProduceBytes(string bootstrap, string topic, IEnumerable<byte[]> payloads)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 2 }).Build();
        foreach (var payload in payloads) producer.Produce(topic, new Message<Null, byte[]> { Value = payload });
        if (producer.Flush(TimeSpan.FromSeconds(30)) > 0) throw new TimeoutException("mock cluster did not acknowledge");
    }

    /// <summary>Reads a topic from the start with a fresh group until <paramref name="count"/> messages arrived (or the
    /// timeout), then, with <paramref name="keepReading"/>, for that much longer so duplicates would show.</summary>
    public static List<ConsumeResult<byte[]?, byte[]>> ReadAll(string bootstrap, string topic, int count, TimeSpan? timeout = null, TimeSpan? keepReading = null)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < until)
        {
            if (results.Count >= count)
            {
                if (keepReading is not { } more) break;
                until = DateTime.UtcNow + more;
                keepReading = null;
            }
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && !r.IsPartitionEOF) results.Add(r);
        }
        consumer.Close();
        return results;
    }

    /// <summary>The offsets group <paramref name="groupId"/> committed on each partition of <paramref name="topic"/>.</summary>
    public static Dictionary<int, long> Committed(string bootstrap, string topic, string groupId, int partitions = 4)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = groupId }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
    }

    /// <summary>High watermark (next offset) of each partition.</summary>
    public static Dictionary<int, long> EndOffsets(string bootstrap, string topic, int partitions = 4)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "watermarks" }).Build();
        return Enumerable.Range(0, partitions).ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }
}
