using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Host.Specs;

/// <summary>The <c>monitors</c> section: detectors per key over columns, each detection an alert row.</summary>
/// <remarks><code>
/// monitors:
///   - columns: [temperature]        # numeric or bool columns (required)
///     key: source_file              # the series: device, file, model variant (optional)
///     detector: seasonal            # seasonal | cusum | zscore | half-space-trees (anomaly); adwin | page-hinkley | ddm (drift)
///     settings: { threshold: 5 }    # the detector's parameters
///     cooldown: 1h                  # event time; default alerts.cooldown
///     severity: warning             # info | warning | critical
/// </code></remarks>
internal static class MonitorComponents
{
    /// <summary>Concept-drift detectors (for model errors and scores) a monitor may name.</summary>
    internal static readonly string[] DriftDetectors = ["adwin", "page-hinkley", "ddm"];

    /// <summary>Every detector kind a monitor may name: the anomaly detectors (seasonal, cusum, zscore, ...) and the
    /// concept-drift detectors.</summary>
    internal static readonly string[] Detectors = [.. Operators.Anomaly.AnomalyDetectors.Names, .. DriftDetectors];

    public static void Register(ComponentRegistry registry) => registry.Sections["monitors"] = Monitors;

    private static Func<PipelineRuntime, IBatchOperator>? Monitors(SpecNode node, SpecContext context)
    {
        IReadOnlyList<SpecNode> items = node.IsMapping ? [node] : node.Items();
        if (items.Count == 0 && !node.IsMapping && node.IsSequence)
        {
            node.Error("'monitors' must list at least one monitor, e.g. - { columns: [temperature], detector: page-hinkley }");
            return null;
        }
        var monitors = new List<Func<PipelineRuntime, MonitorOperator>>();
        for (var i = 0; i < items.Count; i++)
            if (Monitor(items[i], context, items.Count == 1 ? "monitor" : $"monitor-{i + 1}") is { } create) monitors.Add(create);
        if (monitors.Count != items.Count) return null;
        return runtime => monitors.Count == 1 ? monitors[0](runtime) : new OperatorGroup("monitors", [.. monitors.Select(m => m(runtime))]);
    }

    private static Func<PipelineRuntime, MonitorOperator>? Monitor(SpecNode item, SpecContext context, string defaultName)
    {
        if (!item.IsMapping)
        {
            item.Error($"'{item.Path}' must be a mapping, e.g. {{ columns: [temperature], key: device, detector: page-hinkley }}");
            return null;
        }
        var columns = item.Strings("columns", required: true);
        var key = item.String("key");
        var detector = ReadDetector(item);
        var anomaly = detector is null ? null : AnomalySettingsOf(item);
        // Half-space trees over several columns is one multivariate detector per key, unless dimensions says otherwise.
        if (anomaly is { Detector: "half-space-trees" } && columns is { Count: > 1 } && anomaly.Parameters?.ContainsKey("dimensions") != true)
            anomaly = anomaly with { Parameters = new Dictionary<string, string>(anomaly.Parameters ?? new Dictionary<string, string>()) { ["dimensions"] = columns.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        var cooldown = item.Duration("cooldown") ?? context.AlertCooldown;
        var severity = item.Choice("severity", ["info", "warning", "critical"], fallback: "warning") switch
        {
            "info" => AlertSeverity.Info,
            "critical" => AlertSeverity.Critical,
            _ => AlertSeverity.Warning,
        };
        var name = item.String("name") ?? defaultName;
        var model = item.String("model") ?? "";
        var version = item.String("version") ?? "";
        var maxKeys = item.Int("max_keys", min: 1, max: 100_000_000) ?? 1_000_000;
        item.RejectUnknownKeys(item.Path.Length == 0 ? "monitors" : item.Path);
        if (columns is { Count: 0 }) item.Child("columns")!.Error($"'{item.Path}.columns' must name at least one numeric column");
        if (columns is not { Count: > 0 } || detector is null) return null;
        return runtime =>
        {
            var monitor = new MonitorOperator(new MonitorOptions
            {
                Columns = columns, KeyColumn = key, Detector = anomaly, CreateDetector = anomaly is null ? detector : null, Alerts = runtime.Alerts, Cooldown = cooldown, Severity = severity,
                Name = name, Model = model, ModelVersion = version, MaxKeys = maxKeys,
            });
            runtime.Report.Add(monitor); // its counters go into the monitoring report
            return monitor;
        };
    }

    /// <summary>Reads <c>detector</c> and its <c>settings</c>, checking every setting (range, unknown keys) at its position;
    /// returns how to create one detector, or null after recording errors.</summary>
    internal static Func<IMonitorDetector>? ReadDetector(SpecNode item)
    {
        var kind = item.Choice("detector", Detectors, required: true);
        var settings = item.Child("settings");
        if (settings is not null && !settings.IsMapping)
        {
            settings.Error($"'{settings.Path}' must be a mapping of the detector's settings, e.g. {{ delta: 0.5, lambda: 25 }}");
            return null;
        }
        if (kind is not null && Array.IndexOf(DriftDetectors, kind) < 0) return ReadAnomalyDetector(kind, settings, item);
        // Without a settings mapping the getters below read from an empty one.
        var s = settings ?? SpecNode.Parse("{}", new SpecErrors())!;
        var errors = item.Errors.All.Count;
        Func<IDriftDetector>? create = kind switch
        {
            "adwin" => Adwin(s),
            "page-hinkley" => PageHinkley(s),
            "ddm" => Ddm(s),
            _ => null,
        };
        if (kind is not null) s.RejectUnknownKeys($"{(settings ?? item).Path} ({kind})");
        if (create is null || item.Errors.All.Count > errors) return null;
        try
        {
            _ = create(); // constructors check what the getters cannot (relations between settings)
        }
        catch (ArgumentException ex)
        {
            (settings ?? item).Error($"{kind} settings: {ex.Message.Split(" (Parameter")[0]}");
            return null;
        }
        return () => new DriftDetectorMonitor(create());
    }

    /// <summary>An anomaly detector: its settings are handed to <see cref="Operators.Anomaly.AnomalyDetectors"/> as text
    /// and checked there once; an error naming a parameter is placed at that parameter's key.</summary>
    private static Func<IMonitorDetector>? ReadAnomalyDetector(string kind, SpecNode? settings, SpecNode item)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in settings?.Keys.ToList() ?? [])
            if (settings!.String(name) is { } value) parameters[name] = value;
        var detectorSettings = new Operators.Anomaly.AnomalyDetectorSettings(kind, parameters);
        try
        {
            Operators.Anomaly.AnomalyDetectors.Validate(detectorSettings);
        }
        catch (Operators.Anomaly.AnomalyDetectorException ex)
        {
            var at = parameters.Keys.FirstOrDefault(name => ex.Message.Contains($"'{name}'", StringComparison.Ordinal)) is { } named
                ? settings!.Child(named)! : settings ?? item;
            at.Error(ex.Message);
            return null;
        }
        return () => new AnomalyDetectorMonitor(Operators.Anomaly.AnomalyDetectors.Create(detectorSettings));
    }

    /// <summary>The anomaly detector settings of a monitor item (read after <see cref="ReadDetector"/> succeeded), so the
    /// operator runs them as keyed banks; null for the concept-drift detectors.</summary>
    private static Operators.Anomaly.AnomalyDetectorSettings? AnomalySettingsOf(SpecNode item)
    {
        var kind = item.String("detector")?.ToLowerInvariant();
        if (kind is null || Array.IndexOf(DriftDetectors, kind) >= 0) return null;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (item.Child("settings") is { IsMapping: true } settings)
            foreach (var name in settings.Keys.ToList())
                if (settings.String(name) is { } value) parameters[name] = value;
        return new Operators.Anomaly.AnomalyDetectorSettings(kind, parameters);
    }

    private static Func<IDriftDetector> Adwin(SpecNode s)
    {
        var delta = s.Double("delta", min: 1e-12, max: 0.999999) ?? 0.002;
        var clock = s.Int("clock", min: 1, max: 1 << 20) ?? 32;
        var buckets = s.Int("max_buckets", min: 2, max: 1000) ?? 5;
        var minSub = s.Int("min_sub_window", min: 1, max: 1 << 20) ?? 5;
        return () => new Adwin(delta, clock, buckets, minSub);
    }

    private static Func<IDriftDetector> PageHinkley(SpecNode s)
    {
        var delta = s.Double("delta", min: 0) ?? 0.005;
        var lambda = s.Double("lambda", min: 1e-12) ?? 50;
        var alpha = s.Double("alpha", min: 1e-12, max: 1) ?? 0.9999;
        var minInstances = s.Int("min_instances", min: 1, max: 1 << 30) ?? 30;
        var direction = s.Choice("direction", ["up", "down", "both"], fallback: "both") switch
        {
            "up" => ChangeDirection.Up,
            "down" => ChangeDirection.Down,
            _ => ChangeDirection.Both,
        };
        return () => new PageHinkley(delta, lambda, alpha, minInstances, direction);
    }

    private static Func<IDriftDetector> Ddm(SpecNode s)
    {
        var minInstances = s.Int("min_instances", min: 1, max: 1 << 30) ?? 30;
        var warning = s.Double("warning_level", min: 0) ?? 2;
        var drift = s.Double("drift_level", min: 0) ?? 3;
        return () => new Ddm(minInstances, warning, drift);
    }
}
