namespace StreamMl.Operators.Monitoring;

/// <summary>What a detector reports when a value triggers it.</summary>
/// <param name="Statistic">The statistic that crossed the threshold (NaN when there is none to report).</param>
/// <param name="Threshold">The threshold (NaN when there is none to report).</param>
/// <param name="Description">What happened, in a few words, e.g. "mean shifted from 20.1 to 24.3".</param>
public readonly record struct MonitorDetection(double Statistic, double Threshold, string Description);

/// <summary>A detector over one series of values, one instance per key and column; <see cref="MonitorOperator"/>
/// creates them through <see cref="MonitorOptions.CreateDetector"/>. Not thread-safe.</summary>
public interface IMonitorDetector
{
    /// <summary>Short name for alerts ("page-hinkley", "adwin", ...).</summary>
    string Name { get; }

    /// <summary>Feeds one value with its event time (microseconds); true when it triggers a detection, described in
    /// <paramref name="detection"/>. Must not allocate unless it returns true.</summary>
    bool Update(long eventTime, double value, out MonitorDetection detection);
}
