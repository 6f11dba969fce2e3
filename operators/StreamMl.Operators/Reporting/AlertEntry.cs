using StreamMl.Operators.Monitoring;

namespace StreamMl.Operators.Reporting;

/// <summary>An alert as the report shows it (the fields of <see cref="Alert"/>, severity in lower case).</summary>
public sealed record AlertEntry
{
    /// <summary>Event time of the row that triggered it, UTC microseconds.</summary>
    public long EventTime { get; init; }

    /// <summary>anomaly or drift.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Series key (device, file, variant); the feature for drift.</summary>
    public string Key { get; init; } = "";

    /// <summary>The column watched.</summary>
    public string Column { get; init; } = "";

    /// <summary>The detector.</summary>
    public string Detector { get; init; } = "";

    /// <summary>The statistic; null when the detector reports none.</summary>
    public double? Statistic { get; init; }

    /// <summary>The threshold it crossed; null when the detector reports none.</summary>
    public double? Threshold { get; init; }

    /// <summary>info, warning or critical.</summary>
    public string Severity { get; init; } = "warning";

    /// <summary>One sentence.</summary>
    public string Message { get; init; } = "";

    /// <summary>Model and version, "name:version", where relevant.</summary>
    public string Model { get; init; } = "";

    /// <summary>The entry of an alert.</summary>
    public static AlertEntry From(Alert alert) => new()
    {
        EventTime = alert.EventTime,
        Kind = alert.Kind,
        Key = alert.Key,
        Column = alert.Column,
        Detector = alert.Detector,
        Statistic = double.IsFinite(alert.Statistic) ? alert.Statistic : null,
        Threshold = double.IsFinite(alert.Threshold) ? alert.Threshold : null,
        Severity = alert.Severity.ToString().ToLowerInvariant(),
        Message = alert.Message,
        Model = alert.Model.Length == 0 ? "" : alert.ModelVersion.Length == 0 ? alert.Model : $"{alert.Model}:{alert.ModelVersion}",
    };
}
