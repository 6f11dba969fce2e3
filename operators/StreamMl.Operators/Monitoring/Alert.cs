namespace StreamMl.Operators.Monitoring;

/// <summary>One detection, as a row of the alert stream (<see cref="AlertStream.Schema"/>).</summary>
public sealed record Alert
{
    /// <summary>What raised it: <c>anomaly</c> (a detector over a column) or <c>drift</c> (a window or feature in drift).</summary>
    public required string Kind { get; init; }

    /// <summary>The series the detection is about: the key column's value (device, file, variant), or empty for a stream
    /// without a key column; for drift windows, the feature.</summary>
    public required string Key { get; init; }

    /// <summary>Event time of the row that triggered the detection (for a drift window: its end), in microseconds since
    /// the Unix epoch.</summary>
    public required long EventTime { get; init; }

    /// <summary>The column watched.</summary>
    public required string Column { get; init; }

    /// <summary>The detector's name (adwin, page-hinkley, psi, ...).</summary>
    public required string Detector { get; init; }

    /// <summary>The statistic that crossed the threshold (NaN when the detector has none to report).</summary>
    public double Statistic { get; init; } = double.NaN;

    /// <summary>The threshold it crossed (NaN when the detector has none to report).</summary>
    public double Threshold { get; init; } = double.NaN;

    /// <summary>How urgent it is.</summary>
    public AlertSeverity Severity { get; init; } = AlertSeverity.Warning;

    /// <summary>One human-readable sentence.</summary>
    public required string Message { get; init; }

    /// <summary>Model name where the alert is about a model's inputs or outputs; empty otherwise.</summary>
    public string Model { get; init; } = "";

    /// <summary>Model version; empty otherwise.</summary>
    public string ModelVersion { get; init; } = "";

    /// <summary>The monitor (operator) that raised it.</summary>
    public string Monitor { get; init; } = "";

    /// <summary>The event time as UTC.</summary>
    public DateTimeOffset EventTimeUtc => DateTimeOffset.UnixEpoch.AddTicks(EventTime * 10);

    /// <summary>A one-line form: <c>2026-12-03T10:15:00.000000Z warning anomaly key=dev-7 value: page-hinkley ...</c>.</summary>
    public override string ToString() =>
        $"{EventTimeUtc:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} {Severity.ToString().ToLowerInvariant()} {Kind} key={(Key.Length == 0 ? "-" : Key)} " +
        $"{Column} {Detector}: {Message}";
}
