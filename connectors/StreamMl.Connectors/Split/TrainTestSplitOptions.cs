using StreamMl.Connectors.Parquet;

namespace StreamMl.Connectors.Split;

/// <summary>How a <see cref="TrainTestSplitSink"/> splits rows. Every default is documented on its property.</summary>
public sealed class TrainTestSplitOptions
{
    /// <summary>Output folder; the splits go to <c>train/</c> and <c>test/</c> under it. Required.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Share of rows sent to the test split, between 0 and 1. Default 0.2.</summary>
    public double TestFraction { get; set; } = 0.2;

    /// <summary>Seed of the split: the same seed and input give the same split. Default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Column to stratify by: each of its values is split in the same proportion (exactly, to within one row
    /// per value). Default null: a random split in which each row's side depends only on the seed and its source
    /// position, so a replay puts every row on the same side.</summary>
    public string? StratifyBy { get; set; }

    /// <summary>Settings of the two Parquet outputs (their <see cref="ParquetSinkOptions.Directory"/> is replaced).</summary>
    public ParquetSinkOptions Parquet { get; set; } = new();

    /// <summary>Name in counters. Default "split".</summary>
    public string Name { get; set; } = "split";
}
