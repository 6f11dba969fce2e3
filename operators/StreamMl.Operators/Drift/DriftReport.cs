using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamMl.Operators.Drift;

/// <summary>Verdict on one feature.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DriftStatus>))]
public enum DriftStatus
{
    /// <summary>Too few rows to judge (see <see cref="DriftThresholds.MinRows"/>).</summary>
    Unknown,
    /// <summary>Every statistic is below its warning threshold.</summary>
    Ok,
    /// <summary>Some statistic reached its warning threshold.</summary>
    Warning,
    /// <summary>Some statistic reached its drift threshold.</summary>
    Drift,
}

/// <summary>The drift of every monitored feature over one scope (everything since start, or one event-time window),
/// plus the concept-drift detectors. Plain data, serialisable as JSON (<see cref="ToJson"/>); the host serves it.</summary>
public sealed class DriftReport
{
    /// <summary>"lifetime" for everything since the operator started, "window" for one closed window.</summary>
    public required string Scope { get; init; }

    /// <summary>Inclusive start of the window in UTC microseconds; null for lifetime reports.</summary>
    public long? WindowStart { get; init; }

    /// <summary>Exclusive end of the window in UTC microseconds; null for lifetime reports.</summary>
    public long? WindowEnd { get; init; }

    /// <summary>Rows counted in this scope.</summary>
    public long Rows { get; init; }

    /// <summary>Rows whose window had already closed when they arrived; they count in the lifetime scope only.</summary>
    public long LateRows { get; init; }

    /// <summary>The worst feature status.</summary>
    public DriftStatus Status { get; init; }

    /// <summary>One entry per monitored feature, in the order of the options.</summary>
    public required IReadOnlyList<FeatureDrift> Features { get; init; }

    /// <summary>Concept-drift detectors (lifetime reports only).</summary>
    public IReadOnlyList<DetectorReport>? Detectors { get; init; }

    /// <summary>Indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DriftJsonContext.Default.DriftReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static DriftReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, DriftJsonContext.Default.DriftReport)
        ?? throw new Engine.StreamMlException("drift report JSON is 'null'");
}

/// <summary>Statistics and drift scores of one feature in a <see cref="DriftReport"/>. Scores that do not apply to the
/// feature's kind are null.</summary>
public sealed class FeatureDrift
{
    /// <summary>Column name.</summary>
    public required string Name { get; init; }

    /// <summary>Numeric or categorical.</summary>
    public FeatureKind Kind { get; init; }

    /// <summary>Verdict from the thresholds.</summary>
    public DriftStatus Status { get; init; }

    /// <summary>Which statistics crossed a threshold, e.g. "psi 0.31 >= 0.25"; empty when ok.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Rows with a value.</summary>
    public long Count { get; init; }

    /// <summary>Rows that were null, NaN or infinite.</summary>
    public long Missing { get; init; }

    /// <summary>Missing over all rows.</summary>
    public double MissingRate { get; init; }

    /// <summary>Missing rate of the reference.</summary>
    public double ReferenceMissingRate { get; init; }

    /// <summary>Mean (numeric).</summary>
    public double? Mean { get; init; }

    /// <summary>Sample standard deviation (numeric).</summary>
    public double? StdDev { get; init; }

    /// <summary>Smallest value (numeric).</summary>
    public double? Min { get; init; }

    /// <summary>Largest value (numeric).</summary>
    public double? Max { get; init; }

    /// <summary>Population stability index against the reference bins or categories.</summary>
    public double? Psi { get; init; }

    /// <summary>Jensen–Shannon divergence in bits (0 to 1).</summary>
    public double? JensenShannon { get; init; }

    /// <summary>Kolmogorov–Smirnov statistic at the bin edges (numeric); below the exact one by at most the largest
    /// bin mass.</summary>
    public double? KolmogorovSmirnov { get; init; }

    /// <summary>Wasserstein-1 distance from the binned CDFs, in the feature's units (numeric).</summary>
    public double? Wasserstein { get; init; }

    /// <summary>Wasserstein-1 divided by the reference standard deviation (numeric); the thresholds apply to this.</summary>
    public double? WassersteinRelative { get; init; }

    /// <summary>Pearson chi-square statistic against the reference frequencies (categorical).</summary>
    public double? ChiSquare { get; init; }

    /// <summary>p-value of <see cref="ChiSquare"/> (categorical).</summary>
    public double? ChiSquarePValue { get; init; }

    /// <summary>Share of rows in categories the reference did not keep (categorical).</summary>
    public double? UnseenRate { get; init; }

    /// <summary>Bin or category counts in the scope, aligned with the reference profile's bins or categories.</summary>
    public long[] Counts { get; init; } = [];
}

/// <summary>State of one concept-drift detector in a <see cref="DriftReport"/>.</summary>
public sealed class DetectorReport
{
    /// <summary>Column the detector watches.</summary>
    public required string Column { get; init; }

    /// <summary>Detector name ("adwin", "page-hinkley", "ddm").</summary>
    public required string Detector { get; init; }

    /// <summary>Values fed.</summary>
    public long Samples { get; init; }

    /// <summary>Drifts signalled.</summary>
    public long Detections { get; init; }

    /// <summary>The detector's current mean estimate.</summary>
    public double Estimate { get; init; }

    /// <summary>Event time (UTC microseconds) of the row that triggered the last drift; null when none.</summary>
    public long? LastDetectionEventTime { get; init; }

    /// <summary>What the last value produced.</summary>
    public DetectorSignal LastSignal { get; init; }
}
