namespace StreamMl.Operators.Reporting;

/// <summary>One drift statistic of a feature with the thresholds it is judged by.</summary>
public sealed record StatisticEntry
{
    /// <summary>Short name: psi, ks, js, wasserstein, chi2_p, missing_increase.</summary>
    public required string Name { get; init; }

    /// <summary>The value (NaN when it could not be computed).</summary>
    public double Value { get; init; } = double.NaN;

    /// <summary>Warning level; null when the statistic is shown but not judged.</summary>
    public double? Warning { get; init; }

    /// <summary>Drift level; null when the statistic is shown but not judged.</summary>
    public double? Drift { get; init; }

    /// <summary>True when a smaller value is worse (p-values).</summary>
    public bool LowerIsWorse { get; init; }

    /// <summary>ok, warning or drift by the thresholds; "n/a" when not judged or not computable.</summary>
    public string Status { get; init; } = "n/a";
}
