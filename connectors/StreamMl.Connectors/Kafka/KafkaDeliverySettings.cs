namespace StreamMl.Connectors;

/// <summary>The librdkafka properties StreamMl sets itself because at-least-once delivery depends on them. Extra
/// <c>Config</c> entries may not override them: auto-commit or auto offset store would commit offsets before the rows are
/// durable, and a non-idempotent producer or fewer acknowledgements could lose or duplicate output.</summary>
public static class KafkaDeliverySettings
{
    /// <summary>Properties a <see cref="KafkaSource"/> owns.</summary>
    public static IReadOnlyList<string> Source { get; } =
        ["enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "group.id", "bootstrap.servers"];

    /// <summary>Properties a <see cref="KafkaSink"/> owns.</summary>
    public static IReadOnlyList<string> Sink { get; } =
        ["enable.idempotence", "acks", "request.required.acks", "bootstrap.servers"];

    /// <summary>The first of <paramref name="config"/>'s keys that <paramref name="owned"/> reserves, or null.</summary>
    public static string? FirstReserved(IEnumerable<string> config, IReadOnlyList<string> owned) =>
        config.FirstOrDefault(key => owned.Contains(key.Trim(), StringComparer.OrdinalIgnoreCase));

    internal static void Check(IReadOnlyDictionary<string, string> config, IReadOnlyList<string> owned, string connector)
    {
        if (FirstReserved(config.Keys, owned) is { } key)
            throw new ConnectorConfigurationException(
                $"{connector}: the librdkafka property '{key}' is set by StreamMl for at-least-once delivery and cannot be overridden in Config; remove it");
    }
}
