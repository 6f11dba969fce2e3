namespace StreamMl.Operators.Reporting;

/// <summary>A feature's drift in one closed window.</summary>
public sealed record WindowPoint
{
    /// <summary>First event time of the window (UTC microseconds).</summary>
    public long Start { get; init; }

    /// <summary>End of the window (UTC microseconds).</summary>
    public long End { get; init; }

    /// <summary>Rows with a value in the window.</summary>
    public long Rows { get; init; }

    /// <summary>ok, warning, drift or unknown.</summary>
    public string Status { get; init; } = "unknown";

    /// <summary>Population stability index; null when not computed.</summary>
    public double? Psi { get; init; }

    /// <summary>Kolmogorov–Smirnov statistic (numeric).</summary>
    public double? KolmogorovSmirnov { get; init; }

    /// <summary>Jensen–Shannon divergence in bits.</summary>
    public double? JensenShannon { get; init; }

    /// <summary>Wasserstein-1 over the reference standard deviation (numeric).</summary>
    public double? WassersteinRelative { get; init; }

    /// <summary>Mean of the window (numeric).</summary>
    public double? Mean { get; init; }
}
