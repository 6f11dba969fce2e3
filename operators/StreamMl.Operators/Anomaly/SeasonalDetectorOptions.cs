using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>Settings of the seasonal detector (<c>detector: seasonal</c>). Each value is predicted as a level plus a
/// seasonal offset for its time-of-day slot (and day of week); the residual is smoothed (EWMA), and a detection is
/// raised when the smoothed residual exceeds <see cref="Threshold"/> times its usual size (a slow EWMA of its absolute
/// value, so the scale is robust and learnt per key). After a detection the detector holds for <see cref="Hold"/>
/// while its level catches up, so one incident gives one detection. The defaults are the one configuration evaluated
/// on NAB in docs/monitoring.md.</summary>
public sealed record SeasonalDetectorOptions
{
    /// <summary><c>period</c>: the seasonal cycle. Default 1 day.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromDays(1);

    /// <summary><c>slots</c>: slots per period, each with its own offset. Default 48 (half-hours of a day).</summary>
    public int Slots { get; init; } = 48;

    /// <summary><c>weekly</c>: a separate profile for each day of the week (UTC days; needs a one-day period).
    /// Default true.</summary>
    public bool Weekly { get; init; } = true;

    /// <summary><c>level_rate</c>: how fast the level follows the data (EWMA weight). Default 0.01.</summary>
    public double LevelRate { get; init; } = 0.01;

    /// <summary><c>season_rate</c>: how fast a slot's offset follows the data. Default 0.1.</summary>
    public double SeasonRate { get; init; } = 0.1;

    /// <summary><c>smoothing</c>: EWMA weight of the residual that is tested; lower waits for longer deviations.
    /// Default 0.4.</summary>
    public double Smoothing { get; init; } = 0.4;

    /// <summary><c>scale_rate</c>: how fast the usual size of the smoothed residual is learnt. Default 0.001.</summary>
    public double ScaleRate { get; init; } = 0.001;

    /// <summary><c>threshold</c>: the detection level of |smoothed residual| / its usual size. Default 6.</summary>
    public double Threshold { get; init; } = 6;

    /// <summary><c>warning</c>: the fraction of the threshold from which values are warnings. Default 0.8.</summary>
    public double WarningFraction { get; init; } = 0.8;

    /// <summary><c>warmup</c>: event time spent learning before the first detection. Default 3 days.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromDays(3);

    /// <summary><c>hold</c>: event time after a detection without further detections. Default 1 day.</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.FromDays(1);

    /// <summary><c>hold_level_rate</c>: the level's EWMA weight while holding, so it adopts a new level. Default 0.1.</summary>
    public double HoldLevelRate { get; init; } = 0.1;

    /// <summary><c>clip</c>: residuals beyond this many usual sizes are clipped before they teach the baseline.
    /// Default 4.</summary>
    public double Clip { get; init; } = 4;

    internal static SeasonalDetectorOptions Read(ParameterReader read)
    {
        var defaults = new SeasonalDetectorOptions();
        var options = new SeasonalDetectorOptions
        {
            Period = read.Duration("period", defaults.Period, TimeSpan.FromSeconds(1)),
            Slots = read.Int("slots", defaults.Slots, 1, 10_080),
            Weekly = read.Bool("weekly", defaults.Weekly),
            LevelRate = read.Double("level_rate", defaults.LevelRate, 0, 1, minExclusive: true),
            SeasonRate = read.Double("season_rate", defaults.SeasonRate, 0, 1, minExclusive: true),
            Smoothing = read.Double("smoothing", defaults.Smoothing, 0, 1, minExclusive: true),
            ScaleRate = read.Double("scale_rate", defaults.ScaleRate, 0, 1, minExclusive: true),
            Threshold = read.Double("threshold", defaults.Threshold, 0, double.MaxValue, minExclusive: true),
            WarningFraction = read.Double("warning", defaults.WarningFraction, 0, 1),
            Warmup = read.Duration("warmup", defaults.Warmup, TimeSpan.Zero),
            Hold = read.Duration("hold", defaults.Hold, TimeSpan.Zero),
            HoldLevelRate = read.Double("hold_level_rate", defaults.HoldLevelRate, 0, 1, minExclusive: true),
            Clip = read.Double("clip", defaults.Clip, 0, double.MaxValue, minExclusive: true),
        };
        options.Validate();
        return options;
    }

    internal void Validate()
    {
        if (Weekly && Period != TimeSpan.FromDays(1))
            throw new AnomalyDetectorException($"anomaly detector 'seasonal': weekly profiles need a period of 1d, not {Period}; set weekly: false for other periods");
        if (Period.Ticks % Slots != 0 && Period.TotalMicroseconds < Slots)
            throw new AnomalyDetectorException($"anomaly detector 'seasonal': {Slots} slots do not fit in a period of {Period}");
    }
}
