using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>Extra librdkafka properties may not switch off what at-least-once delivery depends on.</summary>
public sealed class KafkaDeliverySettingsTests
{
    private static readonly Schema s_schema = new(new Field("x", ColumnType.Int64));

    [Theory]
    [InlineData("enable.auto.commit", "true")]
    [InlineData("enable.auto.offset.store", "true")]
    [InlineData("Enable.Auto.Commit", "true")]
    public async Task A_source_refuses_config_that_would_commit_offsets_before_rows_are_durable(string key, string value)
    {
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = "127.0.0.1:1", Topics = ["t"], GroupId = "g", Schema = s_schema, Config = { [key] = value },
        });
        var error = await Assert.ThrowsAsync<ConnectorConfigurationException>(async () =>
            await source.OpenAsync(new SourceContext("p", new CollectingDeadLetterSink()), CancellationToken.None));
        Assert.Contains($"'{key}' is set by StreamMl for at-least-once delivery", error.Message);
    }

    [Theory]
    [InlineData("acks", "1")]
    [InlineData("enable.idempotence", "false")]
    public async Task A_sink_refuses_config_that_would_weaken_its_producer(string key, string value)
    {
        var sink = new KafkaSink(new KafkaSinkOptions { BootstrapServers = "127.0.0.1:1", Topic = "out", Config = { [key] = value } });
        var error = await Assert.ThrowsAsync<ConnectorConfigurationException>(async () =>
            await sink.OpenAsync(SinkContext.Standalone(s_schema), CancellationToken.None));
        Assert.Contains($"'{key}' is set by StreamMl", error.Message);
    }
}
