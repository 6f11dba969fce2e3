using StreamMl.Operators.Drift;
using StreamMl.Host.Protos;
using OperatorDriftReport = StreamMl.Operators.Drift.DriftReport;

namespace StreamMl.Host.Pipelines;

/// <summary>Connects the drift area's <see cref="DriftOperator"/> (reference = the model's training profile,
/// event-time windows closed by watermarks, PSI/KS/JS/Wasserstein detectors) to the host: each closed window becomes
/// a window of the pipeline's <see cref="DriftState"/> (so Query.GetDriftReport and Prometheus show it), and a feature
/// whose status turns to drift raises an alert.</summary>
internal sealed class ProfileDrift(DriftState state, EventHub events, string pipeline)
{
    private readonly Dictionary<string, int> _lastLevel = new(StringComparer.Ordinal);
    private long _windows;
    private long _rows;

    public void OnWindowClosed(OperatorDriftReport report)
    {
        var window = new Protos.DriftWindow
        {
            Index = _windows++,
            FirstRow = _rows,
            Rows = report.Rows,
            StartMicros = report.WindowStart ?? 0,
            EndMicros = report.WindowEnd ?? 0,
            Status = Status(report.Status),
        };
        _rows += report.Rows;
        var alerts = 0;
        foreach (var f in report.Features)
        {
            var drift = new Protos.FeatureDrift
            {
                Feature = f.Name,
                Status = Status(f.Status),
                Psi = f.Psi ?? 0,
                CurrentMean = f.Mean ?? 0,
                CurrentStd = f.StdDev ?? 0,
                Rows = f.Count,
            };
            window.Features.Add(drift);
            var level = (int)f.Status;
            if (f.Status == DriftStatus.Drift && _lastLevel.GetValueOrDefault(f.Name) != level)
            {
                alerts++;
                events.PublishAlert(new DriftAlert
                {
                    Pipeline = pipeline,
                    Feature = f.Name,
                    Status = "drift",
                    Psi = drift.Psi,
                    Window = window.Index,
                    Message = $"feature '{f.Name}' drifted in window {window.Index} against the model's training profile: {f.Reason}",
                });
            }
            _lastLevel[f.Name] = level;
        }
        state.AddWindow(window, alerts);
    }

    private static string Status(DriftStatus status) => status switch
    {
        DriftStatus.Drift => "drift",
        DriftStatus.Warning => "warning",
        DriftStatus.Ok => "ok",
        _ => "unknown",
    };
}
