using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>Settings of the level-shift and variance-change detector (<c>detector: cusum</c>). Each value is compared
/// with a slow EWMA baseline; the residual is standardised by a robust scale (1.2533 × EWMA of |residual|, which is σ
/// for Gaussian noise) and clipped to ±<see cref="Clip"/>. Four one-sided CUSUMs run on it: mean up, mean down (on z),
/// variance up and variance down (on 1.2533·|z| − 1, zero-mean when the scale is unchanged). A detection is raised when
/// any sum reaches <see cref="Threshold"/>; then the sums restart and the baseline re-learns from the next values.</summary>
public sealed record CusumDetectorOptions
{
    /// <summary><c>baseline_rate</c>: EWMA weight of the baseline mean. Default 0.01.</summary>
    public double BaselineRate { get; init; } = 0.01;

    /// <summary><c>scale_rate</c>: EWMA weight of the mean absolute residual. Default 0.01.</summary>
    public double ScaleRate { get; init; } = 0.01;

    /// <summary><c>drift</c>: the allowance k subtracted from each standardised residual (half the mean shift, in σ,
    /// that the detector is tuned to find). Default 0.5.</summary>
    public double Drift { get; init; } = 0.5;

    /// <summary><c>variance_drift</c>: the allowance of the variance sums. Default 0.5.</summary>
    public double VarianceDrift { get; init; } = 0.5;

    /// <summary><c>threshold</c>: the decision interval h. Default 10.</summary>
    public double Threshold { get; init; } = 10;

    /// <summary><c>warning</c>: the fraction of the threshold from which values are warnings. Default 0.8.</summary>
    public double WarningFraction { get; init; } = 0.8;

    /// <summary><c>clip</c>: standardised residuals are clipped to ±clip so one outlier cannot trip the sums. Default 4.</summary>
    public double Clip { get; init; } = 4;

    /// <summary><c>warmup</c>: values used to learn the baseline before testing (also after each detection).
    /// Default 50.</summary>
    public int Warmup { get; init; } = 50;

    internal static CusumDetectorOptions Read(ParameterReader read)
    {
        var defaults = new CusumDetectorOptions();
        return new CusumDetectorOptions
        {
            BaselineRate = read.Double("baseline_rate", defaults.BaselineRate, 0, 1, minExclusive: true),
            ScaleRate = read.Double("scale_rate", defaults.ScaleRate, 0, 1, minExclusive: true),
            Drift = read.Double("drift", defaults.Drift, 0, double.MaxValue),
            VarianceDrift = read.Double("variance_drift", defaults.VarianceDrift, 0, double.MaxValue),
            Threshold = read.Double("threshold", defaults.Threshold, 0, double.MaxValue, minExclusive: true),
            WarningFraction = read.Double("warning", defaults.WarningFraction, 0, 1),
            Clip = read.Double("clip", defaults.Clip, 0, double.MaxValue, minExclusive: true),
            Warmup = read.Int("warmup", defaults.Warmup, 2, 1_000_000),
        };
    }
}
