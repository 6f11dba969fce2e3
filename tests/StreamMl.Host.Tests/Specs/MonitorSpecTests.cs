using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>Issue 13 item 1: the <c>monitors</c> and <c>alerts</c> sections and the file source's <c>source_file</c> and
/// <c>watermark_delay</c>: a good spec validates and binds, and each mistake is reported at its line and column.</summary>
public sealed class MonitorSpecTests : IDisposable
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-monitor-spec-").FullName;

    public MonitorSpecTests() => File.WriteAllText(Path.Combine(_dir, "a.csv"), "timestamp,value\n2026-01-01T00:00:00Z,1.5\n");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Source = """
        name: m
        source:
          kind: file
          path: a.csv
          columns: { timestamp: timestamp, value: float64 }
          event_time: timestamp
          source_file: true
        """;

    private IReadOnlyList<SpecError> Validate(string rest) => ValidateCommand.Validate(s_compiler, Source + "\n" + rest, _dir);

    [Fact]
    public void A_spec_with_monitors_of_each_family_and_alert_sinks_validates_and_compiles()
    {
        const string rest = """
            monitors:
              - columns: [value]
                key: source_file
                detector: page-hinkley
                settings: { delta: 0.5, lambda: 25, alpha: 1, direction: up }
                cooldown: 30m
                severity: critical
              - columns: value
                detector: zscore
                name: z
            alerts:
              cooldown: 1h
              sinks:
                - { kind: parquet, path: alerts/ }
            sinks: [ { kind: memory } ]
            """;
        Assert.Empty(Validate(rest));
        var spec = s_compiler.Compile(Source + "\n" + rest, _dir);
        Assert.Equal(TimeSpan.FromHours(1), spec.AlertCooldown);
        Assert.Equal("parquet", Assert.Single(spec.AlertSinks).Kind);
        Assert.Equal("monitors", spec.Operators[^1].Kind);
        // The source's schema has the source_file column, and the monitors bind to it.
        var (input, _) = spec.Bind(new StreamMl.Host.Pipelines.PipelineRuntime("m", s_compiler.Catalog));
        Assert.Equal(Engine.ColumnType.String, input[input.IndexOf("source_file")].Type);
    }

    [Theory]
    // Each case: the monitors/alerts text after the source (which ends on line 7), the line and column of the error, and words of its message.
    [InlineData("monitors:\n  - { columns: [value], detector: isolation }\nsinks: [ { kind: memory } ]", 9, 35, "'monitors[0].detector' is 'isolation'; use one of: seasonal, cusum")]
    [InlineData("monitors:\n  - columns: [value]\n    detector: page-hinkley\n    settings: { lambda: -1 }\nsinks: [ { kind: memory } ]", 11, 25, "'monitors[0].settings.lambda' must be at least")]
    [InlineData("monitors:\n  - columns: [value]\n    detector: adwin\n    settings: { delta: 0.1, lamda: 3 }\nsinks: [ { kind: memory } ]", 11, 29, "unknown key 'lamda' in monitors[0].settings (adwin)")]
    [InlineData("monitors:\n  - columns: [value]\n    detector: ddm\n    settings: { warning_level: 3, drift_level: 2 }\nsinks: [ { kind: memory } ]", 11, 15, "ddm settings: driftLevel must be at least warningLevel")]
    [InlineData("monitors:\n  - columns: [value]\n    detector: seasonal\n    settings: { threshold: abc }\nsinks: [ { kind: memory } ]", 11, 28, "parameter 'threshold' is 'abc'")]
    [InlineData("monitors:\n  - columns: [value]\n    detector: adwin\n    cooldwn: 1h\nsinks: [ { kind: memory } ]", 11, 5, "unknown key 'cooldwn' in monitors[0]")]
    [InlineData("monitors:\n  - { detector: adwin }\nsinks: [ { kind: memory } ]", 9, 5, "'monitors[0].columns' is required")]
    [InlineData("monitors:\n  - { columns: [value], detector: adwin, cooldown: soon }\nsinks: [ { kind: memory } ]", 9, 52, "'monitors[0].cooldown' must be a duration")]
    [InlineData("alerts:\n  sinks: [ { kind: nowhere } ]\nsinks: [ { kind: memory } ]", 9, 20, "unknown sink kind 'nowhere'")]
    [InlineData("alerts: { cooldown: 1h, every: 2 }\nsinks: [ { kind: memory } ]", 8, 25, "unknown key 'every' in alerts")]
    public void A_mistake_is_reported_at_its_line_and_column(string rest, int line, int column, string message)
    {
        var error = Assert.Single(Validate(rest));
        Assert.Contains(message, error.Message);
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public void A_monitor_on_a_column_the_stream_lacks_is_an_error_at_the_monitors_section()
    {
        var errors = Validate("monitors:\n  - { columns: [pressure], key: device, detector: adwin }\nsinks: [ { kind: memory } ]");
        var error = Assert.Single(errors);
        Assert.Equal((9, 3), (error.Line, error.Column));
        Assert.Contains("monitors: monitor: column 'pressure' is not in the stream; it has: timestamp, value, source_file", error.Message);
    }

    [Fact]
    public void Source_file_and_watermark_delay_mistakes_are_errors_at_their_keys()
    {
        const string spec = """
            name: m
            source:
              kind: file
              path: a.csv
              source_file: "my file"
              watermark_delay: 5s
            sinks: [ { kind: memory } ]
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, _dir);
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => (e.Line, e.Column) == (5, 16) && e.Message.Contains("'source_file' must be true, false or a column name without spaces"));
        Assert.Contains(errors, e => (e.Line, e.Column) == (6, 20) && e.Message.Contains("'watermark_delay' needs 'event_time'"));
    }
}
