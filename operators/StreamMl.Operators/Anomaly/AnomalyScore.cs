using System.Text.Json.Serialization;

namespace StreamMl.Operators.Anomaly;

/// <summary>How serious an anomaly detector judged one value.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AnomalySeverity>))]
public enum AnomalySeverity
{
    /// <summary>Nothing unusual, or the detector is still warming up.</summary>
    None,
    /// <summary>The statistic passed the warning level (a fraction of the threshold) but not the threshold.</summary>
    Warning,
    /// <summary>The statistic reached the threshold: a detection. Alerts are raised for these.</summary>
    Critical,
}

/// <summary>What an anomaly detector concluded after one value: the statistic it tests, the threshold the statistic is
/// compared with, and the resulting severity.</summary>
/// <param name="Statistic">The detector's test statistic after the value (NaN while warming up).</param>
/// <param name="Threshold">The value at which <paramref name="Statistic"/> becomes a detection.</param>
/// <param name="Severity">The verdict.</param>
public readonly record struct AnomalyScore(double Statistic, double Threshold, AnomalySeverity Severity)
{
    /// <summary>True when the value is a detection (<see cref="AnomalySeverity.Critical"/>).</summary>
    public bool IsAnomaly => Severity == AnomalySeverity.Critical;

    /// <summary>The score of a value seen while the detector is still learning its baseline.</summary>
    public static AnomalyScore WarmingUp(double threshold) => new(double.NaN, threshold, AnomalySeverity.None);

    /// <summary>Grades <paramref name="statistic"/> against <paramref name="threshold"/>; values at or above
    /// <paramref name="warningFraction"/>·threshold are warnings.</summary>
    public static AnomalyScore Grade(double statistic, double threshold, double warningFraction) => new(statistic, threshold,
        statistic >= threshold ? AnomalySeverity.Critical
        : statistic >= threshold * warningFraction ? AnomalySeverity.Warning
        : AnomalySeverity.None);
}
