using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Operators.Validation;

namespace StreamMl.Host.Files;

/// <summary>A file job: read files, validate and clean them, write Parquet (or a train/test split), dead-letter what
/// fails, and write a data-quality report.</summary>
internal sealed class FileJobOptions
{
    /// <summary>What to read (paths, globs, folders, format, schema, watch).</summary>
    public FileSourceOptions Source { get; init; } = new();

    /// <summary>Where and how to write Parquet.</summary>
    public ParquetSinkOptions Parquet { get; init; } = new();

    /// <summary>Validation and cleansing rules, built once the schema is known (imputers may need a profile).</summary>
    public List<Func<DataProfile?, ValidationRule>> Rules { get; } = [];

    /// <summary>True when a rule needs a profiling pass first (fitted imputers).</summary>
    public bool RulesNeedProfile { get; set; }

    /// <summary>Leave out columns whose missing ratio (in a profiling pass) is above this; null to keep all.</summary>
    public double? DropMissingAbove { get; set; }

    /// <summary>Dead-letter file: <c>.parquet</c> for Parquet, anything else for JSON Lines. Default: <c>dead-letters.jsonl</c> in the output folder.</summary>
    public string? DeadLetters { get; set; }

    /// <summary>Data-quality report path. Default: <c>quality-report.json</c> in the output folder.</summary>
    public string? Report { get; set; }

    /// <summary>When set, write a train/test split with this test fraction instead of one dataset.</summary>
    public double? SplitTestFraction { get; set; }

    /// <summary>Stratify the split by this column.</summary>
    public string? StratifyBy { get; set; }

    /// <summary>Split seed.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>How often the pipeline flushes its sinks (and, with <c>PublishOnFlush</c>, publishes Parquet files).
    /// Default 1 second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rows per batch.</summary>
    public int BatchCapacity { get; set; } = 4096;
}
