using Confluent.Kafka;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>librdkafka's in-process mock cluster (three brokers on 127.0.0.1). It lives as long as the client that
/// created it; every other client reaches it through <see cref="BootstrapServers"/>. Topics are auto-created with
/// four partitions on first use.</summary>
internal sealed class KafkaMockCluster : IDisposable
{
    private readonly IProducer<byte[], byte[]> _host;

    public KafkaMockCluster()
    {
        _host = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = "placeholder:9092",
            ClientId = "mock-host",
        }.Also(c => c.Set("test.mock.num.brokers", "3"))).Build();
        using var admin = new DependentAdminClientBuilder(_host.Handle).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        BootstrapServers = string.Join(",", metadata.Brokers.Select(b => $"{b.Host}:{b.Port}"));
    }

    public string BootstrapServers { get; }

    /// <summary>Produces string messages (JSON or CSV text) and waits for them to be acknowledged.</summary>
    public void Produce(string topic, IEnumerable<(string? Key, string Value)> messages, Headers? headers = null)
    {
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = BootstrapServers, LingerMs = 2 }).Build();
        foreach (var (key, value) in messages)
            producer.Produce(topic, new Message<string?, string> { Key = key, Value = value, Headers = headers });
        if (producer.Flush(TimeSpan.FromSeconds(30)) > 0) throw new TimeoutException("mock cluster did not acknowledge");
    }

    /// <summary>Produces raw payloads.</summary>
    public void ProduceBytes(string topic, IEnumerable<byte[]> payloads)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = BootstrapServers, LingerMs = 2 }).Build();
        foreach (var payload in payloads) producer.Produce(topic, new Message<Null, byte[]> { Value = payload });
        if (producer.Flush(TimeSpan.FromSeconds(30)) > 0) throw new TimeoutException("mock cluster did not acknowledge");
    }

    /// <summary>Reads every message of a topic from the start with a fresh group, until <paramref name="count"/> are read.</summary>
    public List<ConsumeResult<byte[]?, byte[]>> ReadAll(string topic, int count, TimeSpan? timeout = null)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (results.Count < count && DateTime.UtcNow < until)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && !r.IsPartitionEOF) results.Add(r);
        }
        consumer.Close();
        return results;
    }

    /// <summary>The offsets group <paramref name="groupId"/> committed on each partition of <paramref name="topic"/>.</summary>
    public Dictionary<int, long> Committed(string topic, string groupId, int partitions = 4)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = BootstrapServers, GroupId = groupId }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
    }

    /// <summary>High watermark (next offset) of each partition.</summary>
    public Dictionary<int, long> EndOffsets(string topic, int partitions = 4)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = BootstrapServers, GroupId = "watermarks" }).Build();
        return Enumerable.Range(0, partitions).ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    public void Dispose() => _host.Dispose();
}

internal static class ConfigExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
