using System.Globalization;
using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Operators.Retraining;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Specs;

/// <summary>The <c>retrain:</c> section inside a spec's <c>model:</c> section (docs/monitoring.md, "Retraining"), e.g.
/// <c>retrain: { on: { metric: auc, below: 0.7, for: 10m }, window_rows: 50000, reference: train.csv,
/// gate: { margin: 0.01 }, rollout: { steps: [0, 0.05, 0.25], min_labels: 500 } }</c>. The model stage is followed by
/// the window operator, and the pipeline's <see cref="ModelRetrain"/> runs the loop.</summary>
internal static class RetrainSection
{
    /// <summary>The policy and the reference file, or null when the model section has none (or it has errors, which are
    /// added to the spec's errors with their line and column).</summary>
    public static (RetrainOptions Options, string? Reference)? Parse(SpecNode model, SpecContext context)
    {
        var node = model.Child("retrain");
        if (node is null) return null;
        if (!node.IsMapping)
        {
            node.Error("'model.retrain' must be a mapping, e.g. { on: { metric: auc, below: 0.7, for: 10m }, window_rows: 50000 }");
            return null;
        }
        var on = node.Child("on");
        RetrainTriggerOptions? trigger = null;
        if (on is null || !on.IsMapping) (on ?? node).Error("'model.retrain.on' must be a mapping of triggers: drift_features, metric with below or above and for, alert, every");
        else
        {
            trigger = new RetrainTriggerOptions
            {
                DriftFeatures = on.Int("drift_features", min: 1),
                Metric = on.Choice("metric", [.. RetrainTriggerOptions.Metrics]),
                Below = on.Double("below"),
                Above = on.Double("above"),
                For = on.Duration("for") ?? TimeSpan.Zero,
                Alert = on.String("alert"),
                Every = Period(on, "every"),
            };
            on.RejectUnknownKeys("model.retrain.on");
        }
        var d = new RetrainOptions { On = new RetrainTriggerOptions { Every = TimeSpan.FromDays(1) } };
        var windowRows = node.Int("window_rows", min: 10);
        var minRows = node.Int("min_rows", min: 1);
        var metricRows = node.Int("metric_rows", min: 1);
        var cooldown = node.Duration("cooldown");
        var reference = node.String("reference");
        var gate = Gate(node.Child("gate"));
        var rollout = Rollout(node.Child("rollout"));
        node.RejectUnknownKeys("model.retrain");
        if (trigger is null || node.Errors.Any) return null;
        var options = new RetrainOptions
        {
            On = trigger,
            WindowRows = windowRows ?? d.WindowRows,
            MinRows = minRows ?? Math.Min(d.MinRows, windowRows ?? d.WindowRows),
            MetricRows = metricRows ?? Math.Min(d.MetricRows, windowRows ?? d.WindowRows),
            Cooldown = cooldown ?? d.Cooldown,
            Gate = gate ?? d.Gate,
            Rollout = rollout ?? d.Rollout,
        };
        try
        {
            options.Validate();
        }
        catch (Exception e) when (e is RetrainException or RolloutException)
        {
            node.Error($"model.retrain: {e.Message}");
            return null;
        }
        if (reference is not null)
        {
            reference = context.ResolvePath(reference);
            if (!File.Exists(reference)) node.Child("reference")!.Error($"'model.retrain.reference' file {reference} does not exist");
        }
        return (options, reference);
    }

    /// <summary>The model section with its retrain policy: <paramref name="model"/>'s stage followed by the window
    /// operator, the loop created once per pipeline (on the runtime) and ticked every second.</summary>
    public static Func<PipelineRuntime, IBatchOperator>? Around(SpecNode node, SpecContext context, ComponentFactory<IBatchOperator> model)
    {
        var policy = node.IsMapping ? Parse(node, context) : null;
        var stage = model(node, context);
        if (policy is not { } retrain || stage is null) return stage;
        var label = node.String("label");
        var output = node.String("output") ?? "score";
        if (label is null)
        {
            node.Child("retrain")!.Error("'model.retrain' needs the model's 'label' column: the window keeps labelled rows");
            return null;
        }
        return runtime =>
        {
            var op = stage(runtime);
            if (runtime.Retrain is null)
            {
                var champion = runtime.Models.Current.Primary
                    ?? throw new RetrainException($"pipeline '{runtime.Name}' has no model deployed to retrain");
                var loop = new ModelRetrain(runtime.Name, runtime.Models, runtime.Catalog, champion, retrain.Options, label, retrain.Reference,
                    runtime.Clock,
                    drifted: () => runtime.Drift?.Report(runtime.Name, 1).Features.Where(f => f.Status == "drift").Select(f => f.Feature).ToArray());
                runtime.Alerts.Raised += loop.Loop.Trigger.ReportAlert;
                // A test that drives a manual clock ticks the loop itself.
                runtime.Retrain = loop.Start(tick: runtime.Clock == TimeProvider.System);
            }
            return new OperatorGroup("model", [op, runtime.Retrain.CreateWindowOperator(output)]);
        };
    }

    private static RetrainGateOptions? Gate(SpecNode? node)
    {
        if (node is null) return null;
        if (!node.IsMapping)
        {
            node.Error("'model.retrain.gate' must be a mapping, e.g. { margin: 0.01, folds: 5 }");
            return null;
        }
        var d = new RetrainGateOptions();
        var gate = new RetrainGateOptions
        {
            Metric = node.String("metric"),
            Margin = node.Double("margin", min: 0) ?? d.Margin,
            StdErrors = node.Double("std_errors", min: 0) ?? d.StdErrors,
            Folds = node.Int("folds", min: 2, max: 20) ?? d.Folds,
            Holdout = node.Double("holdout", min: 0.01, max: 0.9) ?? d.Holdout,
            Seed = node.Int("seed") ?? d.Seed,
        };
        node.RejectUnknownKeys("model.retrain.gate");
        return gate;
    }

    private static RolloutOptions? Rollout(SpecNode? node)
    {
        if (node is null) return null;
        if (!node.IsMapping)
        {
            node.Error("'model.retrain.rollout' must be a mapping, e.g. { steps: [0, 0.05, 0.25], min_labels: 500 }");
            return null;
        }
        var d = new RolloutOptions();
        var steps = new List<double>();
        foreach (var text in node.Strings("steps") ?? [])
        {
            if (double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var step))
                steps.Add(text.EndsWith('%') ? step / 100 : step);
            else node.Child("steps")!.Error($"'model.retrain.rollout.steps' holds '{text}': give traffic shares such as 0 (shadow), 0.05 or 5%");
        }
        var options = new RolloutOptions
        {
            Steps = steps.Count > 0 ? steps : d.Steps,
            MinRows = node.Long("min_rows", min: 1) ?? d.MinRows,
            MinDuration = node.Duration("min_duration") ?? d.MinDuration,
            MaxDuration = node.Duration("max_duration") ?? d.MaxDuration,
            MinLabels = node.Long("min_labels", min: 0) ?? d.MinLabels,
            MaxErrorRate = node.Double("max_error_rate", min: 0, max: 1) ?? d.MaxErrorRate,
            MaxLatencyRatio = node.Double("max_latency_ratio", min: 1) ?? d.MaxLatencyRatio,
            MaxScorePsi = node.Double("max_score_psi", min: 0) ?? d.MaxScorePsi,
            MaxScoreKs = node.Double("max_score_ks", min: 0, max: 1) ?? d.MaxScoreKs,
            MaxMetricDrop = node.Double("max_metric_drop", min: 0) ?? d.MaxMetricDrop,
            Alpha = node.Double("alpha", min: 0, max: 1) ?? d.Alpha,
        };
        node.RejectUnknownKeys("model.retrain.rollout");
        return options;
    }

    /// <summary>A duration that may also be given in days (<c>1d</c>).</summary>
    private static TimeSpan? Period(SpecNode node, string key)
    {
        var child = node.Child(key);
        if (child is null) return null;
        var text = node.String(key) ?? "";
        if (text.EndsWith('d') && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var days) && days > 0)
            return TimeSpan.FromDays(days);
        return node.Duration(key);
    }
}
