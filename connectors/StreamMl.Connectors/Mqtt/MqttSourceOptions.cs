using Microsoft.Extensions.Logging;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Settings of an <see cref="MqttSource"/>.</summary>
public sealed class MqttSourceOptions
{
    /// <summary>Broker host name or address. Required.</summary>
    public string Host { get; set; } = "";

    /// <summary>Broker port. Default 1883 (use 8883 with TLS).</summary>
    public int Port { get; set; } = 1883;

    /// <summary>Topic filters, wildcards allowed (<c>sensors/+/telemetry</c>, <c>plant/#</c>). Required.</summary>
    public IReadOnlyList<string> Topics { get; set; } = [];

    /// <summary>Client id. With <see cref="PersistentSession"/> the broker keeps the session (subscriptions and
    /// unacknowledged QoS 1 messages) under this id across reconnects and restarts, so keep it stable. Required.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>Ask the broker to keep the session (clean start off, session expiry below). Default true.</summary>
    public bool PersistentSession { get; set; } = true;

    /// <summary>How long the broker keeps a disconnected session. Default 1 hour.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The columns decoded from each payload. Required.</summary>
    public Schema Schema { get; set; } = Schema.Empty;

    /// <summary>Payload format (JSON, CSV or protobuf; one row per message). Default JSON.</summary>
    public MessageCodecOptions Codec { get; set; } = new();

    /// <summary>String column filled with one level of the topic, such as the device id. Default null.</summary>
    public string? DeviceIdColumn { get; set; }

    /// <summary>Which topic level (0-based) holds the device id: 1 for <c>sensors/{device}/telemetry</c>. Default 1.</summary>
    public int DeviceIdTopicLevel { get; set; } = 1;

    /// <summary>String column filled with the whole topic. Default null.</summary>
    public string? TopicColumn { get; set; }

    /// <summary>Timestamp column of <see cref="Schema"/> that is the event time; null uses the arrival time.</summary>
    public string? EventTimeColumn { get; set; }

    /// <summary>How far the watermark trails the highest event time seen. Default 5 seconds.</summary>
    public TimeSpan WatermarkDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Messages the source holds before they reach a batch: when the queue is full the receive handler waits,
    /// so the rest stay at the broker; it is also the MQTT 5 receive maximum told to the broker. Memory is bounded by
    /// this plus the pipeline's ring (RingSize × BatchCapacity rows). Default 8192 (at most 65535).</summary>
    public int MaxInFlight { get; set; } = 8192;

    /// <summary>Longest a partly filled batch waits for more messages. Default 50 ms.</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long an idle source waits before returning an empty batch. Default 100 ms.</summary>
    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First reconnect delay; it doubles (with jitter) up to <see cref="ReconnectMaxDelay"/>. Default 100 ms.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest reconnect delay. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="MqttSource.OpenAsync"/> keeps trying to reach the broker before failing. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>TLS and credentials.</summary>
    public MqttSecurityOptions Security { get; set; } = new();

    /// <summary>Logs; secrets redacted. Default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>TLS and credentials of an MQTT connection.</summary>
public sealed class MqttSecurityOptions
{
    /// <summary>Connect with TLS. Default false.</summary>
    public bool UseTls { get; set; }

    /// <summary>PEM file of the certificate authority that signed the broker's certificate (a private CA). Default: the
    /// system's trust store.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>Accept any broker certificate. For test brokers only. Default false.</summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>User name. Default none (anonymous).</summary>
    public string? Username { get; set; }

    /// <summary>Password, from an environment variable or file.</summary>
    public Secret? Password { get; set; }

    internal IEnumerable<string?> SecretValues()
    {
        if (Password is not null && Password.TryReveal(out var p)) yield return p;
    }
}
