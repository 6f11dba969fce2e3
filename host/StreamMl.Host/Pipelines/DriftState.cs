using StreamMl.Engine;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>Drift settings from a spec's <c>drift</c> section (<c>reference: rows</c>). Defaults suit a few thousand
/// rows per second.</summary>
internal sealed record DriftSettings(
    IReadOnlyList<string> Features,
    int ReferenceRows = 2000,
    int WindowRows = 1000,
    int Bins = 10,
    double WarningPsi = 0.1,
    double DriftPsi = 0.25,
    int KeepWindows = 100)
{
    /// <summary>The thresholds of <c>reference: rows</c> windows: PSI only, judged from 100 rows (or the window).</summary>
    public Operators.Drift.DriftThresholds Thresholds() => new()
    {
        Psi = new(WarningPsi, DriftPsi),
        KolmogorovSmirnov = null,
        JensenShannon = null,
        WassersteinRelative = null,
        MissingRateIncrease = null,
        MinRows = Math.Min(100, WindowRows),
    };
}

/// <summary>What the drift stage has seen so far; read by the Query service while the stage writes it.</summary>
internal sealed class DriftState(DriftSettings settings)
{
    private readonly object _gate = new();
    private readonly List<DriftWindow> _windows = [];
    private long _alerts;
    private long _referenceRows;

    public DriftSettings Settings { get; } = settings;

    /// <summary>Where closed windows' histograms go for the monitoring report; set by the drift stage's factory.</summary>
    public Reporting.ReportState? Reporting { get; set; }

    public void SetReference(long rows)
    {
        lock (_gate) _referenceRows = rows;
    }

    public void AddWindow(DriftWindow window, int newAlerts)
    {
        lock (_gate)
        {
            _windows.Add(window);
            if (_windows.Count > Settings.KeepWindows) _windows.RemoveAt(0);
            _alerts += newAlerts;
        }
    }

    public DriftReport Report(string pipeline, int maxWindows)
    {
        lock (_gate)
        {
            var report = new DriftReport { Pipeline = pipeline, ReferenceRows = _referenceRows, Alerts = _alerts, Status = "ok" };
            if (_windows.Count > 0)
            {
                var last = _windows[^1];
                report.Status = last.Status;
                report.Features.AddRange(last.Features.Select(f => f.Clone()));
            }
            var take = maxWindows <= 0 ? _windows.Count : Math.Min(maxWindows, _windows.Count);
            report.Windows.AddRange(_windows.Skip(_windows.Count - take).Select(w => w.Clone()));
            if (_referenceRows < Settings.ReferenceRows) report.Status = "collecting-reference";
            return report;
        }
    }
}
