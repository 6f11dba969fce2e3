using StreamMl.Host.Protos;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;
using OperatorDriftReport = StreamMl.Operators.Drift.DriftReport;

namespace StreamMl.Host.Pipelines;

/// <summary>Connects the drift area's <see cref="DriftOperator"/> to the host: each closed window's report becomes a
/// window of the pipeline's <see cref="DriftState"/> (so Query.GetDriftReport and Prometheus show it), with each
/// feature's mean shift in reference standard deviations, and every window in which a feature is in drift raises an
/// alert (with the window's end as its event time), unless the feature alerted less than the cooldown before.
/// Used by both drift kinds: event-time windows against a model's training profile, and row windows against the
/// first rows of the stream (<see cref="RowDriftStage"/>).</summary>
internal sealed class DriftWindows(DriftState state, EventHub events, string pipeline, string against,
    AlertStream? alerts = null, TimeSpan cooldown = default)
{
    /// <summary>The <see cref="Alert.Kind"/> of drift alerts.</summary>
    public const string AlertKind = "drift";

    private readonly Dictionary<string, int> _featureSlots = new(StringComparer.Ordinal);
    private readonly AlertCooldown _cooldown = new(cooldown);
    private long _windows;
    private long _rows;

    /// <summary>Rows of the stream before the first window (the row reference), so windows report stream row numbers.</summary>
    public void StartAfter(long rows) => _rows = rows;

    /// <summary>Converts and records one closed window (event-time, or rows: its report spans the event times of its
    /// rows); <paramref name="profile"/> gives the reference means.</summary>
    public void OnWindowClosed(OperatorDriftReport report, ReferenceProfile profile) =>
        OnWindowClosed(report, profile, report.WindowStart ?? 0, report.WindowEnd ?? 0);

    /// <summary>Converts and records one closed window whose rows had event times from <paramref name="startMicros"/> to
    /// <paramref name="endMicros"/>.</summary>
    public void OnWindowClosed(OperatorDriftReport report, ReferenceProfile profile, long startMicros, long endMicros)
    {
        var window = new Protos.DriftWindow
        {
            Index = _windows++,
            FirstRow = _rows,
            Rows = report.Rows,
            StartMicros = startMicros,
            EndMicros = endMicros,
            Status = Status(report.Status),
        };
        _rows += report.Rows;
        var raised = 0;
        foreach (var f in report.Features)
        {
            var reference = profile.Find(f.Name);
            var referenceMean = reference?.Mean ?? double.NaN;
            var referenceStd = reference?.StdDev ?? double.NaN;
            var mean = f.Mean ?? double.NaN;
            var drift = new Protos.FeatureDrift
            {
                Feature = f.Name,
                Status = Status(f.Status),
                Psi = Finite(f.Psi),
                CurrentMean = Finite(mean),
                CurrentStd = Finite(f.StdDev),
                ReferenceMean = Finite(referenceMean),
                ReferenceStd = Finite(referenceStd),
                MeanShift = referenceStd > 0 ? Finite((mean - referenceMean) / referenceStd) : 0,
                Rows = f.Count,
                Reason = f.Reason,
            };
            window.Features.Add(drift);
            if (f.Status != DriftStatus.Drift) continue;
            // Every window in drift is a detection; the cooldown (per feature, in event time) decides which alert.
            if (!_featureSlots.TryGetValue(f.Name, out var slot)) _featureSlots[f.Name] = slot = _featureSlots.Count;
            if (!_cooldown.Admit(slot, endMicros))
            {
                alerts?.NoteSuppressed();
                continue;
            }
            raised++;
            var message = $"feature '{f.Name}' drifted in window {window.Index} against {against}: {f.Reason}; " +
                          $"mean {drift.CurrentMean:G4} against {drift.ReferenceMean:G4} ({drift.MeanShift:+0.00;-0.00;0.00} sd)";
            events.PublishAlert(new DriftAlert
            {
                Pipeline = pipeline,
                Feature = f.Name,
                Status = "drift",
                Psi = drift.Psi,
                MeanShift = drift.MeanShift,
                Window = window.Index,
                Message = message,
                EventTimeMicros = endMicros,
                Kind = AlertKind,
                Key = f.Name,
                Column = f.Name,
                Detector = "drift-window",
                Statistic = drift.Psi,
                Severity = "warning",
            });
            alerts?.Publish(new Alert
            {
                Kind = AlertKind,
                Key = f.Name,
                EventTime = endMicros,
                Column = f.Name,
                Detector = "drift-window",
                Statistic = f.Psi ?? double.NaN,
                Message = message,
                Monitor = "drift",
            });
        }
        state.AddWindow(window, raised);
        state.Reporting?.AddWindow(new Operators.Reporting.ClosedWindow(report, startMicros, endMicros), profile);
    }

    private static double Finite(double? value) => value is { } v && double.IsFinite(v) ? v : 0;

    private static string Status(DriftStatus status) => status switch
    {
        DriftStatus.Drift => "drift",
        DriftStatus.Warning => "warning",
        DriftStatus.Ok => "ok",
        _ => "unknown",
    };
}
