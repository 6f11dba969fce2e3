using System.Globalization;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Operators.Retraining;

/// <summary>Decides when a retrain is due from what the pipeline reports: drift reports (features in drift), alerts
/// (by monitor name), the live metric (below or above a limit for a while) and the clock (every period). <see cref="Due"/>
/// gives the reason of the first condition that holds; <see cref="Restart"/> forgets what was seen when a retrain starts.
/// Time comes from a <see cref="TimeProvider"/>. Thread-safe.</summary>
public sealed class RetrainTrigger
{
    private readonly Lock _lock = new();
    private readonly RetrainTriggerOptions _options;
    private readonly TimeProvider _clock;
    private DateTimeOffset _scheduleFrom;
    private string? _drift;
    private string? _alert;
    private DateTimeOffset? _badSince;
    private double _lastMetric = double.NaN;

    /// <summary>A trigger with <paramref name="options"/>; the schedule counts from now.</summary>
    public RetrainTrigger(RetrainTriggerOptions options, TimeProvider? clock = null)
    {
        options.Validate();
        _options = options;
        _clock = clock ?? TimeProvider.System;
        _scheduleFrom = _clock.GetUtcNow();
    }

    /// <summary>The conditions.</summary>
    public RetrainTriggerOptions Options => _options;

    /// <summary>The live metric last reported (NaN before the first).</summary>
    public double LastMetric { get { lock (_lock) return _lastMetric; } }

    /// <summary>Records how many features are in drift now, with the names for the reason.</summary>
    public void ReportDrift(IReadOnlyCollection<string> driftedFeatures)
    {
        lock (_lock)
        {
            _drift = _options.DriftFeatures is { } limit && driftedFeatures.Count >= limit
                ? $"drift: {driftedFeatures.Count} features in drift ({string.Join(", ", driftedFeatures)}), limit {limit}"
                : null;
        }
    }

    /// <summary>Records a drift report: its features with status drift.</summary>
    public void ReportDrift(DriftReport report) =>
        ReportDrift(report.Features.Where(f => f.Status == DriftStatus.Drift).Select(f => f.Name).ToArray());

    /// <summary>Records an alert; it fires the trigger when it comes from the watched monitor.</summary>
    public void ReportAlert(Alert alert)
    {
        if (_options.Alert is null || alert.Monitor != _options.Alert) return;
        lock (_lock) _alert ??= $"alert: monitor {alert.Monitor}: {alert.Message}";
    }

    /// <summary>Records the live metric's value now (NaN: cannot be computed, e.g. one class only; ignored).</summary>
    public void ReportMetric(double value)
    {
        if (_options.Metric is null || double.IsNaN(value)) return;
        lock (_lock)
        {
            _lastMetric = value;
            var bad = _options.Below is { } below ? value < below : value > _options.Above!.Value;
            if (!bad) _badSince = null;
            else _badSince ??= _clock.GetUtcNow();
        }
    }

    /// <summary>Why a retrain is due now, or null when none is.</summary>
    public string? Due()
    {
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            if (_drift is not null) return _drift;
            if (_alert is not null) return _alert;
            if (_badSince is { } since && now - since >= _options.For)
                return string.Create(CultureInfo.InvariantCulture,
                    $"metric: {_options.Metric} {_lastMetric:F4} {(_options.Below is { } b ? $"below {b:G4}" : $"above {_options.Above:G4}")} for {(now - since).TotalMinutes:F1} min (limit {_options.For.TotalMinutes:G4} min)");
            if (_options.Every is { } every && now - _scheduleFrom >= every)
                return string.Create(CultureInfo.InvariantCulture, $"schedule: every {Describe(every)}");
            return null;
        }
    }

    /// <summary>Forgets drift, alerts and the metric's history and restarts the schedule (a retrain just started).</summary>
    public void Restart()
    {
        lock (_lock)
        {
            _drift = null;
            _alert = null;
            _badSince = null;
            _scheduleFrom = _clock.GetUtcNow();
        }
    }

    /// <summary>The live metric <paramref name="metric"/> (auc, accuracy at 0.5, rmse) of scores against labels.</summary>
    public static double Compute(string metric, ReadOnlySpan<float> scores, ReadOnlySpan<float> labels) => metric switch
    {
        "auc" => Evaluate.RocAuc(labels, scores),
        "accuracy" => Accuracy(scores, labels),
        "rmse" => Evaluate.Regression(labels, scores)[MetricNames.Rmse],
        _ => throw new RetrainException($"metric '{metric}' is not one of {string.Join(", ", RetrainTriggerOptions.Metrics)}"),
    };

    private static double Accuracy(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        if (scores.Length == 0) return double.NaN;
        var right = 0;
        for (var i = 0; i < scores.Length; i++)
            if ((scores[i] >= 0.5f) == (labels[i] > 0.5f)) right++;
        return (double)right / scores.Length;
    }

    private static string Describe(TimeSpan period) => period.TotalDays >= 1 && period.TotalDays % 1 == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{period.TotalDays:G}d")
        : period.TotalHours >= 1 && period.TotalHours % 1 == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{period.TotalHours:G}h")
            : string.Create(CultureInfo.InvariantCulture, $"{period.TotalMinutes:G}m");
}
