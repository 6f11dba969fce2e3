using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;

namespace StreamMl.Benchmarks.Features;

/// <summary>Console progress, the default columns and a GitHub markdown report for the feature and scoring benchmarks.
/// The shared <see cref="Config"/> starts from an empty ManualConfig, which on its own prints nothing and reports
/// "There are no columns to show"; BenchmarkDotNet unions this class-level config with it.</summary>
public sealed class ReportingConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public ReportingConfig()
    {
        AddLogger(ConsoleLogger.Default);
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddExporter(MarkdownExporter.GitHub);
    }
}
