using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>Settings of the rolling z-score baseline (<c>detector: zscore</c>): |value − mean| / standard deviation over
/// the previous <see cref="Window"/> values. Kept as the yardstick the other detectors are compared with.</summary>
public sealed record ZScoreDetectorOptions
{
    /// <summary><c>window</c>: values in the rolling window. Default 288 (a day of 5-minute values).</summary>
    public int Window { get; init; } = 288;

    /// <summary><c>threshold</c>: the z-score from which a value is a detection. Default 3.</summary>
    public double Threshold { get; init; } = 3;

    /// <summary><c>warning</c>: the fraction of the threshold from which values are warnings. Default 0.8.</summary>
    public double WarningFraction { get; init; } = 0.8;

    internal static ZScoreDetectorOptions Read(ParameterReader read)
    {
        var defaults = new ZScoreDetectorOptions();
        return new ZScoreDetectorOptions
        {
            Window = read.Int("window", defaults.Window, 2, 1_000_000),
            Threshold = read.Double("threshold", defaults.Threshold, 0, double.MaxValue, minExclusive: true),
            WarningFraction = read.Double("warning", defaults.WarningFraction, 0, 1),
        };
    }
}
