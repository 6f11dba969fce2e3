namespace StreamMl.Operators.Anomaly.Evaluation;

/// <summary>How a detector configuration did on one series (or, from <see cref="AnomalyEvaluation.Total"/>, on several).</summary>
/// <param name="Series">The series' name, or "total".</param>
/// <param name="Points">Points fed.</param>
/// <param name="Windows">Labelled windows.</param>
/// <param name="WindowsDetected">Windows with at least one alarm inside.</param>
/// <param name="FalseAlarms">Alarms outside every window.</param>
/// <param name="Delays">Per detected window, the event time from the window's start to its first alarm.</param>
public sealed record SeriesEvaluation(string Series, int Points, int Windows, int WindowsDetected, int FalseAlarms, IReadOnlyList<TimeSpan> Delays)
{
    /// <summary>False alarms per 2,000 points, the rate the target is stated in.</summary>
    public double FalseAlarmsPer2000 => Points == 0 ? 0 : FalseAlarms * 2000.0 / Points;

    /// <summary>Mean delay over the detected windows, or null when none was detected.</summary>
    public TimeSpan? MeanDelay => Delays.Count == 0 ? null : TimeSpan.FromTicks((long)Delays.Average(d => d.Ticks));
}
