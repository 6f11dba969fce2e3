namespace StreamMl.Operators.Reporting;

/// <summary>One feature (or the model score): its reference and current histograms, its statistics with thresholds,
/// and its drift in each closed window.</summary>
public sealed class FeatureSection
{
    /// <summary>Column name.</summary>
    public required string Name { get; init; }

    /// <summary>"numeric" or "categorical".</summary>
    public string Kind { get; init; } = "numeric";

    /// <summary>ok, warning, drift or unknown (too few rows).</summary>
    public string Status { get; init; } = "unknown";

    /// <summary>Which statistics crossed a threshold, or why the status is unknown; empty when ok.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Numeric: ascending bin edges; bin 0 is below <c>Edges[0]</c>, the last bin at or above <c>Edges[^1]</c>.</summary>
    public double[] Edges { get; init; } = [];

    /// <summary>Categorical: the reference's categories; the last count of each histogram is every other category.</summary>
    public string[] Categories { get; init; } = [];

    /// <summary>Reference rows per bin or category.</summary>
    public long[] ReferenceCounts { get; init; } = [];

    /// <summary>Current rows per bin or category, aligned with <see cref="ReferenceCounts"/>.</summary>
    public long[] CurrentCounts { get; init; } = [];

    /// <summary>Reference mean (numeric); null otherwise.</summary>
    public double? ReferenceMean { get; init; }

    /// <summary>Reference standard deviation (numeric).</summary>
    public double? ReferenceStdDev { get; init; }

    /// <summary>Current mean (numeric).</summary>
    public double? CurrentMean { get; init; }

    /// <summary>Current standard deviation (numeric).</summary>
    public double? CurrentStdDev { get; init; }

    /// <summary>Missing share of the current rows.</summary>
    public double CurrentMissingRate { get; init; }

    /// <summary>Missing share of the reference rows.</summary>
    public double ReferenceMissingRate { get; init; }

    /// <summary>PSI, KS, Jensen–Shannon, Wasserstein, ...: value, thresholds and status.</summary>
    public IReadOnlyList<StatisticEntry> Statistics { get; init; } = [];

    /// <summary>Drift in each closed window, oldest first.</summary>
    public IReadOnlyList<WindowPoint> Windows { get; init; } = [];
}
