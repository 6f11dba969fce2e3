namespace StreamMl.Operators.Anomaly.Evaluation;

/// <summary>A labelled window of event time, both ends included (UTC microseconds since the epoch).</summary>
/// <param name="Start">First event time in the window.</param>
/// <param name="End">Last event time in the window.</param>
public readonly record struct AnomalyWindow(long Start, long End)
{
    /// <summary>True when <paramref name="eventTime"/> lies in the window.</summary>
    public bool Contains(long eventTime) => eventTime >= Start && eventTime <= End;
}

/// <summary>A univariate series with its labelled anomaly windows, as in NAB (<c>timestamp,value</c> CSV plus
/// <c>combined_windows.json</c>).</summary>
/// <param name="Name">The series' name (its file name without extension).</param>
/// <param name="EventTimes">Event time of each point, UTC microseconds since the epoch, in file order (NAB's machine temperature file steps back an hour once, at line 10,151).</param>
/// <param name="Values">The values.</param>
/// <param name="Windows">The labelled anomaly windows.</param>
public sealed record LabelledSeries(string Name, long[] EventTimes, double[] Values, IReadOnlyList<AnomalyWindow> Windows)
{
    /// <summary>Points in the series.</summary>
    public int Length => Values.Length;
}
