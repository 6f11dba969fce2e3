using StreamMl.Connectors;
using StreamMl.Connectors.Parquet;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>The Parquet sink's publication keys in specs (roll_rows, roll_seconds, roll_mb, publish_on_flush) with their
/// streaming defaults, errors at line and column for bad values, and the MQTT source's stable default client id.</summary>
public sealed class ParquetSinkSpecTests
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());

    private static string Spec(string sink) => $$"""
        name: plant
        source:
          kind: mqtt
          host: 127.0.0.1
          topics: [plant/+/reading]
          columns: { id: int64 }
        sinks:
          - kind: parquet
            path: out
        {{sink}}
        """;

    private static ParquetSinkOptions SinkOptions(string sink)
    {
        var spec = s_compiler.Compile(Spec(sink));
        return Assert.IsType<ParquetSink>(spec.Sinks[0].Create(new PipelineRuntime("plant", new ModelCatalog()))).Options;
    }

    [Fact]
    public void A_streaming_spec_publishes_every_10_seconds_or_million_rows_by_default()
    {
        var options = SinkOptions("");
        Assert.Equal(TimeSpan.FromSeconds(10), options.RollInterval);
        Assert.Equal(1_000_000, options.RollRows);
        Assert.Equal(512L << 20, options.RollBytes);
        Assert.False(options.PublishOnFlush);
    }

    [Fact]
    public void Roll_keys_and_publish_on_flush_are_accepted()
    {
        var options = SinkOptions("""
                roll_rows: 20000
                roll_seconds: 2.5
                roll_mb: 64
                publish_on_flush: true
                compression: zstd
            """);
        Assert.Equal(20_000, options.RollRows);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.RollInterval);
        Assert.Equal(64L << 20, options.RollBytes);
        Assert.True(options.PublishOnFlush);
        Assert.Equal(ParquetCompression.Zstd, options.Compression);
        // 0 turns a limit off.
        Assert.Equal(TimeSpan.Zero, SinkOptions("    roll_seconds: 0").RollInterval);
    }

    [Fact]
    public void Bad_publication_values_are_errors_at_their_line_and_column()
    {
        var errors = ValidateCommand.Validate(s_compiler, Spec("""
                roll_rows: -5
                roll_seconds: soon
                roll_mb: lots
                publish_on_flush: sometimes
            """), null);
        Assert.Contains(errors, e => e.Line == 10 && e.Column > 1 && e.Message.Contains("roll_rows", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 11 && e.Message.Contains("roll_seconds", StringComparison.Ordinal) && e.Message.Contains("must be a number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 12 && e.Message.Contains("roll_mb", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 13 && e.Message.Contains("publish_on_flush", StringComparison.Ordinal) && e.Message.Contains("true or false", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Message.Contains("StreamMl.", StringComparison.Ordinal));
    }

    [Fact]
    public void Mqtt_without_client_id_keeps_one_session_per_pipeline_not_per_process()
    {
        var spec = s_compiler.Compile(Spec(""));
        var first = Assert.IsType<MqttSource>(spec.Source.Create(new PipelineRuntime("plant", new ModelCatalog())));
        var again = Assert.IsType<MqttSource>(s_compiler.Compile(Spec("")).Source.Create(new PipelineRuntime("plant", new ModelCatalog())));
        Assert.Equal("streamml-plant", first.ClientId);
        Assert.Equal(first.ClientId, again.ClientId);
        Assert.DoesNotContain(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), first.ClientId, StringComparison.Ordinal);
    }
}
