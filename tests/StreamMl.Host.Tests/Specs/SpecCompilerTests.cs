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
            ("has errors", "is not a pipeline name: names have 1 to 100 letters"),
            ("12", "must be a power of two"),
            ("sometimes", "use one of: blocking, yielding, busyspin"),
            ("datetime2", "unknown column type 'datetime2'"),
            ("hot", "must be a number, got 'hot'"),
            ("3\n", "'drift.window_rows' must be between 10 and"),
            ("keep_rowz", "unknown key 'keep_rowz' in sinks[0] (memory)"),
            ("kafkaesque", "unknown sink kind 'kafkaesque'"),
            ("extra", "unknown key 'extra' in the spec; known keys: alerts, description, drift, features, model, monitors, name, options, recommend, sinks, source, validation"),
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

/// <summary>The features section runs a saved, fitted feature pipeline inside a spec's pipeline.</summary>
public sealed class FeaturesSectionTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-features-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_saved_feature_pipeline_standardises_the_streamed_columns()
    {
        // Fit on 2,000 rows of a single column with known values, save, and reference it from a spec.
        var schema = new Engine.Schema(new Engine.Field("f0", Engine.ColumnType.Float32));
        using var batch = new Engine.ColumnBatch(schema, 2000);
        batch.Length = 2000;
        var values = Enumerable.Range(0, 2000).Select(i => (float)(i % 100)).ToArray();
        values.CopyTo(batch.Values<float>(0));
        var pipeline = Operators.Features.FeaturePipeline.Create("scale").StandardScale("f0").Build().Fit([batch]);
        var path = Path.Combine(_folder, "features.json");
        pipeline.Save(path);

        var specPath = Path.Combine(_folder, "spec.yaml");
        await File.WriteAllTextAsync(specPath, """
            name: features-section
            source: { kind: synthetic, rows: 5000, features: 1 }
            features: { path: features.json }
            sinks: [ { kind: memory, keep_rows: 1 } ]
            """);
        var catalog = new ModelCatalog();
        await using var manager = new StreamMl.Host.Pipelines.PipelineManager(ComponentRegistry.CreateDefault(), catalog,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<StreamMl.Host.Pipelines.PipelineManager>.Instance);
        var managed = await manager.CreateAsync(await File.ReadAllTextAsync(specPath), start: true, replace: false, _folder, CancellationToken.None);
        await managed.Ended;

        Assert.Equal(StreamMl.Host.Pipelines.PipelineState.Completed, managed.State);
        var outputColumn = Assert.Single(pipeline.OutputColumns);
        Assert.Contains(outputColumn, managed.OutputSchema.Select(f => f.Name));
        // The last row: its f0 and its feature, against the mean and standard deviation of the fitted values.
        var last = managed.Runtime.Memory!.LastRows.Single();
        double Value(string name) => double.Parse(last.Split(", ").Single(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..],
            System.Globalization.CultureInfo.InvariantCulture);
        var mean = values.Average(v => (double)v);
        var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
        var expected = (Value("f0") - mean) / sd;
        Assert.True(Math.Abs(expected - Value(outputColumn)) < 1e-3 * Math.Max(1, Math.Abs(expected)) ||
                    Math.Abs((Value("f0") - mean) / (sd * Math.Sqrt(values.Length / (values.Length - 1.0))) - Value(outputColumn)) < 1e-3,
            $"feature {Value(outputColumn)} for f0 {Value("f0")}, mean {mean}, sd {sd}");
    }
}
