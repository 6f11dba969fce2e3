namespace StreamMl.Operators.Reporting;

/// <summary>Counters of one detector or monitor.</summary>
public sealed record DetectorSummary
{
    /// <summary>The monitor or operator name.</summary>
    public required string Name { get; init; }

    /// <summary>Columns watched, comma-separated.</summary>
    public string Columns { get; init; } = "";

    /// <summary>The detector (seasonal, adwin, ...).</summary>
    public string Detector { get; init; } = "";

    /// <summary>Keys (series) seen.</summary>
    public long Keys { get; init; }

    /// <summary>Values fed.</summary>
    public long Values { get; init; }

    /// <summary>Detections, raised or suppressed.</summary>
    public long Detections { get; init; }

    /// <summary>Detections raised as alerts.</summary>
    public long Alerts { get; init; }

    /// <summary>Detections suppressed by the cooldown.</summary>
    public long Suppressed { get; init; }

    /// <summary>Event time of the latest detection, UTC microseconds; null when unknown or none.</summary>
    public long? LastDetection { get; init; }
}
