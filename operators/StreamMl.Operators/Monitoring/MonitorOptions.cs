namespace StreamMl.Operators.Monitoring;

/// <summary>Options of <see cref="MonitorOperator"/>. Every default is documented on its property.</summary>
public sealed class MonitorOptions
{
    /// <summary>Numeric or bool columns to watch, each with its own detectors (required, at least one).</summary>
    public required IReadOnlyList<string> Columns { get; init; }

    /// <summary>Column whose value names the series (device, file, model variant): string, int32 or int64. Each value
    /// gets its own detector per column. Default null: the whole stream is one series.</summary>
    public string? KeyColumn { get; init; }

    /// <summary>An anomaly detector (seasonal, cusum, zscore, ...) run as one <see cref="Anomaly.KeyedDetectors"/> bank per
    /// column: every key's state in flat arrays, no object per key. Set this or <see cref="CreateDetector"/>.</summary>
    public Anomaly.AnomalyDetectorSettings? Detector { get; init; }

    /// <summary>Creates a fresh detector for a new (key, column), the first time the key is seen (any
    /// <see cref="IMonitorDetector"/>, e.g. <see cref="DriftDetectorMonitor"/>). Set this or <see cref="Detector"/>.</summary>
    public Func<IMonitorDetector>? CreateDetector { get; init; }

    /// <summary>Where alerts go (required). Several operators may share one stream.</summary>
    public required AlertStream Alerts { get; init; }

    /// <summary>Quiet period per (key, column) after an alert, in event time; detections inside it are counted as
    /// suppressed. Default zero: every detection is an alert.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.Zero;

    /// <summary>Severity of the alerts raised. Default <see cref="AlertSeverity.Warning"/>.</summary>
    public AlertSeverity Severity { get; init; } = AlertSeverity.Warning;

    /// <summary>Most keys tracked; rows of further keys are counted in <see cref="MonitorReport.RowsOverKeyLimit"/> and
    /// not watched, so a key column with unbounded values cannot exhaust memory. Default 1,000,000.</summary>
    public int MaxKeys { get; init; } = 1_000_000;

    /// <summary>Model name written to alerts (when the watched column is a model's input or output). Default empty.</summary>
    public string Model { get; init; } = "";

    /// <summary>Model version written to alerts. Default empty.</summary>
    public string ModelVersion { get; init; } = "";

    /// <summary>Operator name in counters, logs and alerts. Default "monitor".</summary>
    public string Name { get; init; } = "monitor";
}

/// <summary>Counters of a <see cref="MonitorOperator"/>.</summary>
public sealed record MonitorReport
{
    /// <summary>The operator's name.</summary>
    public required string Name { get; init; }

    /// <summary>Keys seen.</summary>
    public long Keys { get; init; }

    /// <summary>Values fed to detectors.</summary>
    public long Values { get; init; }

    /// <summary>Detections, raised or suppressed.</summary>
    public long Detections { get; init; }

    /// <summary>Detections raised as alerts.</summary>
    public long Alerts { get; init; }

    /// <summary>Detections suppressed by the cooldown.</summary>
    public long Suppressed { get; init; }

    /// <summary>Rows not watched because their key came after <see cref="MonitorOptions.MaxKeys"/> others.</summary>
    public long RowsOverKeyLimit { get; init; }
}
