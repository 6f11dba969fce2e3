namespace StreamMl.Operators.Anomaly;

/// <summary>A detector named as in a spec (<c>detector: seasonal</c>) with its parameters as written there
/// (<c>threshold: 5</c>, <c>period: 1d</c>). <see cref="AnomalyDetectors"/> checks and builds it; parameters left out take
/// the defaults documented on each options type (<see cref="SeasonalDetectorOptions"/>, <see cref="CusumDetectorOptions"/>,
/// <see cref="HalfSpaceTreesOptions"/>, <see cref="ZScoreDetectorOptions"/>).</summary>
/// <param name="Detector">"seasonal", "cusum", "half-space-trees" or "zscore".</param>
/// <param name="Parameters">Parameter name to value as text; null or empty for every default.</param>
public sealed record AnomalyDetectorSettings(string Detector, IReadOnlyDictionary<string, string>? Parameters = null)
{
    /// <summary>The default configuration: the seasonal detector with its defaults, the one evaluated on NAB in
    /// docs/monitoring.md.</summary>
    public static AnomalyDetectorSettings Default { get; } = new(AnomalyDetectors.Seasonal);

    /// <summary>The settings as one line: <c>seasonal(threshold=5, period=1d)</c>.</summary>
    public override string ToString() => Parameters is null || Parameters.Count == 0
        ? Detector
        : $"{Detector}({string.Join(", ", Parameters.Select(p => $"{p.Key}={p.Value}"))})";
}
