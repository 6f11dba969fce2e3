using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>Spec reading: every error is reported, each at the line and column of the offending text (found here by
/// searching the text, not hard-coded).</summary>
public sealed class SpecCompilerTests
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());

    /// <summary>1-based line and column of the first occurrence of <paramref name="token"/>.</summary>
    private static (int Line, int Column) Find(string text, string token)
    {
        var index = text.IndexOf(token, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{token}' is not in the spec");
        var line = text[..index].Count(c => c == '\n') + 1;
        var column = index - (text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1) + 1;
        if (text.LastIndexOf('\n', Math.Max(0, index - 1)) < 0) column = index + 1;
        return (line, column);
    }

    [Fact]
    public void Every_error_is_reported_with_the_position_of_its_value()
    {
        const string spec = """
            name: has errors
            options:
              ring_size: 12
              wait_strategy: sometimes
            source:
              kind: grpc
              columns: { temperature: float32, when: datetime2 }
            model:
              kind: linear
              weights: { temperature: hot }
            drift:
              features: [temperature]
              window_rows: 3
            sinks:
              - kind: memory
                keep_rowz: 3
              - kind: kafkaesque
            extra: 1
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, null);
        var expected = new (string Token, string Message)[]
        {
            ("has errors", "may contain only letters"),
            ("12", "must be a power of two"),
            ("sometimes", "use one of: blocking, yielding, busyspin"),
            ("datetime2", "unknown column type 'datetime2'"),
            ("hot", "must be a number, got 'hot'"),
            ("3\n", "'drift.window_rows' must be between 10 and"),
            ("keep_rowz", "unknown key 'keep_rowz' in sinks[0] (memory)"),
            ("kafkaesque", "unknown sink kind 'kafkaesque'"),
            ("extra", "unknown key 'extra' in the spec; known keys: description, drift, features, model, name, options, sinks, source, validation"),
        };
        Assert.True(expected.Length == errors.Count, string.Join("\n", errors));
        foreach (var (token, message) in expected)
        {
            var (line, column) = Find(spec, token);
            Assert.Contains(errors, e => e.Line == line && e.Column == column && e.Message.Contains(message, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Missing_sections_are_reported_at_the_top()
    {
        var errors = ValidateCommand.Validate(s_compiler, "description: nothing else\n", null);
        Assert.Contains(errors, e => e.Message.Contains("'name' is required") && e.Line == 1);
        Assert.Contains(errors, e => e.Message.Contains("'source' is required") && e.Line == 1);
    }

    [Fact]
    public void A_schema_problem_found_while_binding_points_at_the_section()
    {
        const string spec = """
            name: bind
            source:
              kind: grpc
              columns: { temperature: float32, device: string }
            drift:
              features: [temperature, humidity]
            sinks:
              - kind: memory
            """;
        var error = Assert.Single(ValidateCommand.Validate(s_compiler, spec, null));
        Assert.Equal(Find(spec, "features").Line, error.Line);
        Assert.Contains("column 'humidity' is not in the schema", error.Message);
    }

    [Fact]
    public void JSON_specs_are_read_and_errors_have_JSON_positions()
    {
        const string json = """
            {
              "name": "json-spec",
              "source": { "kind": "grpc", "columns": { "x": "float32" } },
              "drift": { "features": ["x"], "bins": 1000 },
              "sinks": [ { "kind": "memory" } ]
            }
            """;
        var error = Assert.Single(ValidateCommand.Validate(s_compiler, json, null));
        var (line, column) = Find(json, "1000");
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains("between 2 and 100", error.Message);

        var spec = s_compiler.Compile(json.Replace("1000", "10"));
        Assert.Equal("json-spec", spec.Name);
        Assert.Equal(["drift"], spec.Operators.Select(o => o.Kind));
    }

    [Fact]
    public void A_valid_spec_compiles_with_its_options()
    {
        var spec = s_compiler.Compile("""
            name: ok
            options: { batch_capacity: 512, ring_size: 16, wait_strategy: yielding, flush_interval: 250ms }
            source: { kind: synthetic, rows: 1000, features: 3 }
            drift: { features: [f0, f1] }
            sinks: [ { kind: memory } ]
            """);
        Assert.Equal(512, spec.BatchCapacity);
        Assert.Equal(16, spec.RingSize);
        Assert.Equal(Engine.Ring.WaitStrategyKind.Yielding, spec.WaitStrategy);
        Assert.Equal(TimeSpan.FromMilliseconds(250), spec.FlushInterval);
        var (input, output) = spec.Bind(new StreamMl.Host.Pipelines.PipelineRuntime("ok", new ModelCatalog()));
        Assert.Equal(["device", "timestamp", "f0", "f1", "f2"], input.Select(f => f.Name));
        Assert.Equal(input, output);
    }
}
