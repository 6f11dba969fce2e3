using Microsoft.Extensions.Logging;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Settings of a <see cref="KafkaSource"/>.</summary>
public sealed class KafkaSourceOptions
{
    /// <summary>Brokers, <c>host:port,host:port</c>. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Topics to subscribe to. Required.</summary>
    public IReadOnlyList<string> Topics { get; set; } = [];

    /// <summary>Consumer group. Every process of one pipeline uses the same group; Kafka splits the partitions among them.
    /// Required.</summary>
    public string GroupId { get; set; } = "";

    /// <summary>The columns decoded from each message payload. Required.</summary>
    public Schema Schema { get; set; } = Schema.Empty;

    /// <summary>Payload format and column mapping. Default JSON, columns by property name.</summary>
    public MessageCodecOptions Codec { get; set; } = new();

    /// <summary>A string column to fill with the message key (UTF-8), or null for none. Default null.</summary>
    public string? KeyColumn { get; set; }

    /// <summary>Header name to string column. Default none (headers are then not even read, which saves allocations).</summary>
    public Dictionary<string, string> HeaderColumns { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A timestamp column of <see cref="Schema"/> whose value is the row's event time; null (default) uses
    /// the Kafka message timestamp.</summary>
    public string? EventTimeColumn { get; set; }

    /// <summary>How far the watermark trails the highest event time seen. Default 5 seconds.</summary>
    public TimeSpan WatermarkDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Topic that receives messages that cannot be decoded (original key and value, with headers
    /// <c>streamml.error</c> and <c>streamml.source</c>). Null (default): they only go to the pipeline's dead-letter sink.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>Longest a partly filled batch waits for more messages before it is handed on. Default 50 ms.</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long an idle source waits for a message before returning an empty batch. Default 100 ms.</summary>
    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>When partitions are revoked, how long to wait for rows already handed to the pipeline to become durable
    /// so their offsets can be committed before the partitions move. Default 10 seconds.</summary>
    public TimeSpan RevocationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where a group without committed offsets starts: "earliest" (default) or "latest".</summary>
    public string AutoOffsetReset { get; set; } = "earliest";

    /// <summary>TLS and SASL.</summary>
    public KafkaSecurityOptions Security { get; set; } = new();

    /// <summary>Extra librdkafka properties (for example <c>session.timeout.ms</c>, or <c>test.mock.num.brokers</c>).</summary>
    public Dictionary<string, string> Config { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Logs (librdkafka's lines are forwarded, secrets redacted). Default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
