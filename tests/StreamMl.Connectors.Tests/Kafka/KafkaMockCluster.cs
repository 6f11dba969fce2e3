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
    public void Produce(string topic, IEnumerable<(string? Key, string Value)> messages, Headers? headers = null) =>
        KafkaTestClient.Produce(BootstrapServers, topic, messages, headers);

    /// <summary>Produces raw payloads.</summary>
    public void ProduceBytes(string topic, IEnumerable<byte[]> payloads) => KafkaTestClient.ProduceBytes(BootstrapServers, topic, payloads);

    /// <summary>Reads every message of a topic from the start with a fresh group, until <paramref name="count"/> are read.</summary>
    public List<ConsumeResult<byte[]?, byte[]>> ReadAll(string topic, int count, TimeSpan? timeout = null) =>
        KafkaTestClient.ReadAll(BootstrapServers, topic, count, timeout);

    /// <summary>The offsets group <paramref name="groupId"/> committed on each partition of <paramref name="topic"/>.</summary>
    public Dictionary<int, long> Committed(string topic, string groupId, int partitions = 4) =>
        KafkaTestClient.Committed(BootstrapServers, topic, groupId, partitions);

    /// <summary>High watermark (next offset) of each partition.</summary>
    public Dictionary<int, long> EndOffsets(string topic, int partitions = 4) => KafkaTestClient.EndOffsets(BootstrapServers, topic, partitions);

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
