using System.Globalization;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary><c>features: { derive: {...} }</c> in a pipeline spec: derived features alone over raw columns, or after a
/// saved fitted pipeline (reading its features as its steps left them), computed for every streamed row; bad
/// expressions reported at their line and column.</summary>
public sealed class DeriveSectionTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-derive-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<Func<string, double>> LastRow(string spec)
    {
        var catalog = new ModelCatalog();
        await using var manager = new StreamMl.Host.Pipelines.PipelineManager(ComponentRegistry.CreateDefault(), catalog,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<StreamMl.Host.Pipelines.PipelineManager>.Instance);
        var managed = await manager.CreateAsync(spec, start: true, replace: false, _folder, CancellationToken.None);
        await managed.Ended;
        Assert.Equal(StreamMl.Host.Pipelines.PipelineState.Completed, managed.State);
        var last = managed.Runtime.Memory!.LastRows.Single();
        return name => double.Parse(last.Split(", ").Single(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..],
            CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Derived_features_alone_are_computed_from_the_raw_columns()
    {
        var value = await LastRow("""
            name: derive-alone
            source: { kind: synthetic, rows: 3000, features: 2 }
            features: { derive: { ratio: f0 / f1, shifted: f1 - 2.5 } }
            sinks: [ { kind: memory, keep_rows: 1 } ]
            """);
        var (f0, f1) = ((float)value("f0"), (float)value("f1"));
        var ratio = f0 / f1;
        Assert.Equal(float.IsFinite(ratio) ? ratio : float.NaN, (float)value("f_ratio"));
        Assert.Equal(f1 - 2.5f, (float)value("f_shifted"));
    }

    [Fact]
    public async Task Derived_features_after_a_saved_pipeline_read_its_features()
    {
        var schema = new Engine.Schema(new Engine.Field("f0", Engine.ColumnType.Float32));
        using var batch = new Engine.ColumnBatch(schema, 1000);
        batch.Length = 1000;
        Enumerable.Range(0, 1000).Select(i => (float)(i % 10)).ToArray().CopyTo(batch.Values<float>(0));
        var fitted = Operators.Features.FeaturePipeline.Create("scale").MinMaxScale("f0").Build().Fit([batch]);   // f0 / 9
        fitted.Save(Path.Combine(_folder, "features.json"));
        var value = await LastRow("""
            name: derive-after
            source: { kind: synthetic, rows: 3000, features: 2 }
            features: { path: features.json, derive: { scaled_times_f1: f0 * f1 } }
            sinks: [ { kind: memory, keep_rows: 1 } ]
            """);
        var scaled = ((float)value("f0") - 0f) * (1f / 9f);
        Assert.Equal(scaled, (float)value("f_f0"));
        Assert.Equal(scaled * (float)value("f1"), (float)value("f_scaled_times_f1"));
    }

    [Fact]
    public void Bad_expressions_are_reported_at_their_line_and_column()
    {
        const string spec = """
            name: derive-bad
            source: { kind: synthetic, rows: 10, features: 2 }
            features:
              derive:
                ratio: f0/f1
                twice: 2 * 3
            sinks: [ { kind: memory } ]
            """;
        var errors = ValidateCommand.Validate(new SpecCompiler(ComponentRegistry.CreateDefault(), new ModelCatalog()), spec, null);
        Assert.Contains(errors, e => e.Line == 5 && e.Column == 12 && e.Message.Contains("features.derive.ratio: 'f0/f1' is not one operation 'a op b'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 6 && e.Column == 12 && e.Message.Contains("features.derive.twice: '2 * 3' names no feature", StringComparison.Ordinal));
    }
}
