namespace StreamMl.Operators.Anomaly;

/// <summary>An online anomaly detector over one scalar stream (one sensor, one series, one key). Updates never allocate.
/// Not thread-safe: one stream, one thread. For many keys use <see cref="KeyedDetectors"/>, which keeps the state of
/// every key in flat arrays.</summary>
public interface IAnomalyDetector
{
    /// <summary>The detector's name as written in settings ("seasonal", "cusum", "half-space-trees", "zscore").</summary>
    string Name { get; }

    /// <summary>Feeds one value observed at <paramref name="eventTime"/> (UTC microseconds since the epoch, the engine's
    /// event-time unit) and returns the verdict for it.</summary>
    AnomalyScore Update(double value, long eventTime);

    /// <summary>Values fed since creation or the last <see cref="Reset"/>.</summary>
    long Samples { get; }

    /// <summary>Forgets everything learnt.</summary>
    void Reset();
}

/// <summary>An online anomaly detector over several values per event (a row's features).</summary>
public interface IMultivariateAnomalyDetector
{
    /// <summary>The detector's name as written in settings.</summary>
    string Name { get; }

    /// <summary>How many values each update takes.</summary>
    int Dimensions { get; }

    /// <summary>Feeds one event's values observed at <paramref name="eventTime"/> and returns the verdict.</summary>
    AnomalyScore Update(ReadOnlySpan<double> values, long eventTime);

    /// <summary>Events fed since creation or the last <see cref="Reset"/>.</summary>
    long Samples { get; }

    /// <summary>Forgets everything learnt.</summary>
    void Reset();
}
