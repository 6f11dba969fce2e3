namespace StreamMl.Operators.Anomaly.Evaluation;

/// <summary>Runs a detector configuration over labelled series and counts, per series: windows detected, false alarms,
/// false alarms per 2,000 points and detection delay.</summary>
/// <remarks>An <em>alarm</em> is the first of a run of consecutive detections (a value scored
/// <see cref="AnomalySeverity.Critical"/> right after one that was not), so a detector that stays above its threshold for
/// ten values raises one alarm, not ten. A window is detected when an alarm's event time lies in it (ends included); an
/// alarm in no window is a false alarm; a window's delay is from its start to its first alarm. Every point and every
/// window counts, warm-up included (NAB's scorer instead ignores its first 15 %).</remarks>
public static class AnomalyEvaluation
{
    /// <summary>Feeds <paramref name="series"/> to a fresh detector built from <paramref name="settings"/> and scores
    /// its alarms.</summary>
    public static SeriesEvaluation Evaluate(LabelledSeries series, AnomalyDetectorSettings settings)
    {
        var detector = AnomalyDetectors.Create(settings);
        var detections = new bool[series.Length];
        for (var i = 0; i < series.Length; i++)
            detections[i] = detector.Update(series.Values[i], series.EventTimes[i]).IsAnomaly;
        return Score(series, detections);
    }

    /// <summary>Scores per-point detections (true where the detector said Critical) against the series' windows.</summary>
    public static SeriesEvaluation Score(LabelledSeries series, ReadOnlySpan<bool> detections)
    {
        if (detections.Length != series.Length)
            throw new ArgumentException($"{detections.Length} detections for {series.Length} points", nameof(detections));
        var firstAlarm = new long?[series.Windows.Count];
        var falseAlarms = 0;
        for (var i = 0; i < detections.Length; i++)
        {
            if (!detections[i] || (i > 0 && detections[i - 1])) continue;
            var time = series.EventTimes[i];
            var inWindow = false;
            for (var w = 0; w < series.Windows.Count; w++)
            {
                if (!series.Windows[w].Contains(time)) continue;
                inWindow = true;
                firstAlarm[w] ??= time;
            }
            if (!inWindow) falseAlarms++;
        }
        var delays = new List<TimeSpan>();
        for (var w = 0; w < firstAlarm.Length; w++)
            if (firstAlarm[w] is { } alarm)
                delays.Add(TimeSpan.FromMicroseconds(alarm - series.Windows[w].Start));
        return new SeriesEvaluation(series.Name, series.Length, series.Windows.Count, delays.Count, falseAlarms, delays);
    }

    /// <summary>The sums over several series (delays pooled).</summary>
    public static SeriesEvaluation Total(IEnumerable<SeriesEvaluation> results)
    {
        var list = results.ToList();
        return new SeriesEvaluation("total", list.Sum(r => r.Points), list.Sum(r => r.Windows), list.Sum(r => r.WindowsDetected),
            list.Sum(r => r.FalseAlarms), list.SelectMany(r => r.Delays).ToList());
    }
}
