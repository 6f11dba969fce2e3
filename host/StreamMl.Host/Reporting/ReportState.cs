using System.Collections.Concurrent;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Reporting;

/// <summary>What a pipeline's monitoring report is built from, kept as the pipeline runs: the latest alerts, the drift
/// stage's closed windows (operator reports with their histograms) and profile, and the monitors. Thread-safe: the
/// stages write it, the Query service and the HTTP route read it.</summary>
internal sealed class ReportState(int keepAlerts = 10_000)
{
    private readonly ConcurrentQueue<Alert> _alerts = new();
    private readonly ConcurrentDictionary<string, MonitorOperator> _monitors = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<ClosedWindow> _windows = [];
    private ReferenceProfile? _profile;
    private DriftThresholds _thresholds = new();
    private int _keepWindows = 100;

    /// <summary>Records an alert; the oldest go beyond <c>keepAlerts</c> (the counts stay exact in the alert stream).</summary>
    public void Add(Alert alert)
    {
        _alerts.Enqueue(alert);
        while (_alerts.Count > keepAlerts) _alerts.TryDequeue(out _);
    }

    /// <summary>Registers a monitor by name (a restarted pipeline replaces its monitors).</summary>
    public void Add(MonitorOperator monitor) => _monitors[monitor.Name] = monitor;

    /// <summary>Sets the thresholds the drift stage judges windows by, and how many windows to keep.</summary>
    public void SetDriftThresholds(DriftThresholds thresholds, int keepWindows)
    {
        lock (_gate)
        {
            _thresholds = thresholds;
            _keepWindows = keepWindows;
        }
    }

    /// <summary>Records a closed drift window measured against <paramref name="profile"/>.</summary>
    public void AddWindow(ClosedWindow window, ReferenceProfile profile)
    {
        lock (_gate)
        {
            _profile = profile;
            _windows.Add(window);
            if (_windows.Count > _keepWindows) _windows.RemoveAt(0);
        }
    }

    public IReadOnlyList<Alert> Alerts => [.. _alerts];

    public IReadOnlyList<MonitorOperator> Monitors => [.. _monitors.Values.OrderBy(m => m.Name, StringComparer.Ordinal)];

    /// <summary>The profile, thresholds and closed windows (oldest first); the profile is null before the first window.</summary>
    public (ReferenceProfile? Profile, DriftThresholds Thresholds, IReadOnlyList<ClosedWindow> Windows) Drift()
    {
        lock (_gate) return (_profile, _thresholds, [.. _windows]);
    }
}
