using System.Globalization;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Operators.Reporting;

/// <summary>Collects a pipeline's monitoring state into a <see cref="MonitoringReport"/>: drift from a
/// <see cref="DriftOperator"/>'s reports and its <see cref="ReferenceProfile"/>, alerts, monitor counters, row counts,
/// metrics and free tables. Not thread-safe; build a report on one thread.</summary>
/// <example><code>
/// var report = new MonitoringReportBuilder("sensors")
///     .AddDrift(profile, drift.GetReport(), drift.GetWindowReports().Select(ClosedWindow.Of), options.Thresholds, "everything since start")
///     .AddAlerts(alerts)
///     .Build();
/// File.WriteAllText("report.html", ReportHtml.Render(report));
/// </code></example>
public sealed class MonitoringReportBuilder(string pipeline)
{
    private readonly List<FeatureSection> _features = [];
    private readonly List<AlertEntry> _alerts = [];
    private readonly List<DetectorSummary> _detectors = [];
    private readonly Dictionary<(string Name, string Variant), List<MetricPoint>> _metrics = [];
    private readonly List<ReportTable> _tables = [];
    private RowCounts? _rows;
    private string _scope = "";
    private string? _scoreColumn;
    private long? _raised;
    private long _suppressed;
    private long _dropped;

    /// <summary>Sets where the rows went.</summary>
    public MonitoringReportBuilder WithRows(RowCounts rows)
    {
        _rows = rows;
        return this;
    }

    /// <summary>Adds a section per feature of <paramref name="current"/>: the reference histogram from
    /// <paramref name="profile"/>, the current one from the report's counts, the statistics judged by
    /// <paramref name="thresholds"/>, and the feature's drift in each of <paramref name="windows"/> (oldest first).</summary>
    /// <param name="profile">The reference the reports were measured against.</param>
    /// <param name="current">What "current" is: a lifetime report or the latest window.</param>
    /// <param name="windows">Closed windows, oldest first; may be empty.</param>
    /// <param name="thresholds">The thresholds the drift operator used.</param>
    /// <param name="currentScope">Words for what current is, shown in the report, e.g. "the latest closed window".</param>
    public MonitoringReportBuilder AddDrift(ReferenceProfile profile, DriftReport current, IEnumerable<ClosedWindow> windows,
        DriftThresholds thresholds, string currentScope = "")
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(thresholds);
        var closed = windows.ToList();
        _scope = currentScope;
        foreach (var feature in current.Features)
        {
            var reference = profile.Find(feature.Name);
            var numeric = feature.Kind == FeatureKind.Numeric;
            var points = new List<WindowPoint>(closed.Count);
            foreach (var window in closed)
            {
                var f = window.Report.Features.FirstOrDefault(x => x.Name == feature.Name);
                if (f is null) continue;
                points.Add(new WindowPoint
                {
                    Start = window.Start,
                    End = window.End,
                    Rows = f.Count,
                    Status = StatusName(f.Status),
                    Psi = Finite(f.Psi),
                    KolmogorovSmirnov = Finite(f.KolmogorovSmirnov),
                    JensenShannon = Finite(f.JensenShannon),
                    WassersteinRelative = Finite(f.WassersteinRelative),
                    Mean = Finite(f.Mean),
                });
            }
            _features.Add(new FeatureSection
            {
                Name = feature.Name,
                Kind = numeric ? "numeric" : "categorical",
                Status = StatusName(feature.Status),
                Reason = feature.Reason,
                Edges = numeric ? reference?.Edges ?? [] : [],
                Categories = numeric ? [] : reference?.Categories ?? [],
                ReferenceCounts = (numeric ? reference?.BinCounts : reference?.CategoryCounts) ?? [],
                CurrentCounts = feature.Counts,
                ReferenceMean = numeric ? Finite(reference?.Mean) : null,
                ReferenceStdDev = numeric ? Finite(reference?.StdDev) : null,
                CurrentMean = Finite(feature.Mean),
                CurrentStdDev = Finite(feature.StdDev),
                CurrentMissingRate = feature.MissingRate,
                ReferenceMissingRate = feature.ReferenceMissingRate,
                Statistics = Statistics(feature, thresholds),
                Windows = points,
            });
        }
        return this;
    }

    /// <summary>Shows the drift feature <paramref name="column"/> as the model's score distribution instead of as a
    /// feature.</summary>
    public MonitoringReportBuilder WithScoreColumn(string column)
    {
        _scoreColumn = column;
        return this;
    }

    /// <summary>Adds alerts (any order; the report sorts them by event time).</summary>
    public MonitoringReportBuilder AddAlerts(IEnumerable<Alert> alerts)
    {
        foreach (var alert in alerts) _alerts.Add(AlertEntry.From(alert));
        return this;
    }

    /// <summary>Sets the alert counters of an <see cref="AlertStream"/>: raised in total (when more than the alerts
    /// added), suppressed by the cooldown, and dropped by slow sinks.</summary>
    public MonitoringReportBuilder WithAlertCounts(long raised, long suppressed, long dropped)
    {
        _raised = raised;
        _suppressed = suppressed;
        _dropped = dropped;
        return this;
    }

    /// <summary>Adds the counters of a <see cref="MonitorOperator"/>.</summary>
    public MonitoringReportBuilder AddMonitor(MonitorOperator monitor)
    {
        var report = monitor.GetReport();
        var options = monitor.Options;
        _detectors.Add(new DetectorSummary
        {
            Name = report.Name,
            Columns = string.Join(", ", options.Columns),
            Detector = options.Detector?.Detector ?? (options.CreateDetector is { } create ? create().Name : ""),
            Keys = report.Keys,
            Values = report.Values,
            Detections = report.Detections,
            Alerts = report.Alerts,
            Suppressed = report.Suppressed,
            LastDetection = _alerts.Where(a => a.Kind == "anomaly" && options.Columns.Contains(a.Column))
                .Select(a => (long?)a.EventTime).DefaultIfEmpty(null).Max(),
        });
        return this;
    }

    /// <summary>Adds the concept-drift detectors of a drift operator's lifetime report.</summary>
    public MonitoringReportBuilder AddDetectors(IEnumerable<DetectorReport> detectors)
    {
        foreach (var d in detectors)
            _detectors.Add(new DetectorSummary
            {
                Name = $"drift: {d.Column}",
                Columns = d.Column,
                Detector = d.Detector,
                Values = d.Samples,
                Detections = d.Detections,
                LastDetection = d.LastDetectionEventTime,
            });
        return this;
    }

    /// <summary>Adds one value of a metric (accuracy, log loss, ...) of a model variant.</summary>
    public MonitoringReportBuilder AddMetric(string name, string variant, MetricPoint point)
    {
        if (!_metrics.TryGetValue((name, variant), out var points)) _metrics[(name, variant)] = points = [];
        points.Add(point);
        return this;
    }

    /// <summary>Adds a table section.</summary>
    public MonitoringReportBuilder AddTable(ReportTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        foreach (var row in table.Rows)
            if (row.Count != table.Columns.Count)
                throw new ArgumentException($"table '{table.Title}': a row has {row.Count} cells for {table.Columns.Count} columns", nameof(table));
        _tables.Add(table);
        return this;
    }

    /// <summary>The report as of <paramref name="now"/> (default: the current time).</summary>
    public MonitoringReport Build(DateTimeOffset? now = null)
    {
        var score = _scoreColumn is null ? null : _features.FirstOrDefault(f => f.Name == _scoreColumn);
        var features = _features.Where(f => !ReferenceEquals(f, score)).ToList();
        var statuses = _features.Select(f => f.Status).ToList();
        return new MonitoringReport
        {
            Pipeline = pipeline,
            GeneratedAt = ((now ?? DateTimeOffset.UtcNow) - DateTimeOffset.UnixEpoch).Ticks / 10,
            CurrentScope = _scope,
            Rows = _rows,
            Status = statuses.Count == 0 ? "unknown" : statuses.MaxBy(Rank)!,
            Features = features,
            Score = score,
            Metrics = [.. _metrics.Select(m => new MetricSeries { Name = m.Key.Name, Variant = m.Key.Variant, Points = [.. m.Value.OrderBy(p => p.Time)] })],
            Alerts = [.. _alerts.OrderBy(a => a.EventTime)],
            AlertsRaised = _raised ?? _alerts.Count,
            AlertsSuppressed = _suppressed,
            AlertsDropped = _dropped,
            Detectors = _detectors,
            Tables = _tables,
        };
    }

    private static List<StatisticEntry> Statistics(FeatureDrift f, DriftThresholds t)
    {
        var list = new List<StatisticEntry>();
        Add(list, "psi", f.Psi, t.Psi);
        Add(list, "ks", f.KolmogorovSmirnov, t.KolmogorovSmirnov);
        Add(list, "js", f.JensenShannon, t.JensenShannon);
        Add(list, "wasserstein", f.WassersteinRelative, t.WassersteinRelative);
        Add(list, "chi2_p", f.ChiSquarePValue, t.ChiSquarePValue, lowerIsWorse: true);
        Add(list, "missing_increase", f.MissingRate - f.ReferenceMissingRate, t.MissingRateIncrease);
        return list;
    }

    private static void Add(List<StatisticEntry> list, string name, double? value, Threshold? threshold, bool lowerIsWorse = false)
    {
        if (value is not { } v) return;
        list.Add(new StatisticEntry
        {
            Name = name,
            Value = v,
            Warning = threshold?.Warning,
            Drift = threshold?.Drift,
            LowerIsWorse = lowerIsWorse,
            Status = Judge(v, threshold, lowerIsWorse),
        });
    }

    private static string Judge(double value, Threshold? threshold, bool lowerIsWorse)
    {
        if (threshold is not { } th || !double.IsFinite(value)) return "n/a";
        bool Reached(double level) => lowerIsWorse ? value <= level : value >= level;
        return Reached(th.Drift) ? "drift" : Reached(th.Warning) ? "warning" : "ok";
    }

    private static int Rank(string status) => status switch { "drift" => 3, "warning" => 2, "ok" => 1, _ => 0 };

    internal static string StatusName(DriftStatus status) => status.ToString().ToLower(CultureInfo.InvariantCulture);

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
