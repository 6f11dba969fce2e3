using StreamMl.Host.Protos;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Host.Pipelines;

/// <summary>Turns the operators' <see cref="Alert"/>s into the <see cref="DriftAlert"/> messages of Subscribe and the
/// host's logs.</summary>
internal static class AlertRouting
{
    /// <summary>The Subscribe message of an alert; NaN statistics become 0 (proto3 has no null double).</summary>
    public static DriftAlert ToProto(Alert alert, string pipeline) => new()
    {
        Pipeline = pipeline,
        Feature = alert.Column,
        Status = alert.Kind,
        Message = alert.Message,
        EventTimeMicros = alert.EventTime,
        Kind = alert.Kind,
        Key = alert.Key,
        Column = alert.Column,
        Detector = alert.Detector,
        Statistic = double.IsFinite(alert.Statistic) ? alert.Statistic : 0,
        Threshold = double.IsFinite(alert.Threshold) ? alert.Threshold : 0,
        Severity = alert.Severity.ToString().ToLowerInvariant(),
        Model = alert.Model,
        ModelVersion = alert.ModelVersion,
    };

    /// <summary>A one-line form for terminals and logs: <c>2026-01-01T00:15:00.000000Z warning anomaly key=a.csv value page-hinkley: ...</c>.</summary>
    public static string Describe(DriftAlert alert) =>
        $"{DateTimeOffset.UnixEpoch.AddTicks(alert.EventTimeMicros * 10):yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} {alert.Severity} {alert.Kind} " +
        $"key={(alert.Key.Length == 0 ? "-" : alert.Key)} {alert.Column} {alert.Detector}: {alert.Message}";
}
