using System.Globalization;
using StreamMl.Host.Models;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Specs;

/// <summary>The <c>rollout:</c> section inside a spec's <c>model:</c> section: when the pipeline starts with the primary
/// model deployed, the candidate version is rolled out against it, e.g.
/// <c>rollout: { candidate: "2", steps: [0, 0.05, 0.25], min_rows: 1000, min_duration: 5m, max_duration: 1h,
/// min_labels: 500, max_error_rate: 0.01, max_latency_ratio: 2, max_score_psi: 0.25, max_score_ks: 0.2,
/// max_metric_drop: 0.02, alpha: 0.01 }</c> (every key but candidate optional; defaults in docs/rollouts.md).</summary>
internal static class RolloutSection
{
    /// <summary>The candidate version and settings, or null when the model section has no rollout (or it has errors,
    /// which are added to the spec's errors with their line and column).</summary>
    public static (string Candidate, Func<ModelEntry, RolloutOptions> Options)? Parse(SpecNode model)
    {
        var node = model.Child("rollout");
        if (node is null) return null;
        if (!node.IsMapping)
        {
            node.Error("'model.rollout' must be a mapping, e.g. { candidate: \"2\", steps: [0, 0.05, 0.25] }");
            return null;
        }
        var d = new RolloutOptions();
        var candidate = node.String("candidate", required: true);
        var stepTexts = node.Strings("steps");
        var steps = new List<double>();
        foreach (var text in stepTexts ?? [])
        {
            if (double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var step))
                steps.Add(text.EndsWith('%') ? step / 100 : step);
            else node.Child("steps")!.Error($"'model.rollout.steps' holds '{text}': give traffic shares such as 0 (shadow), 0.05 or 5%");
        }
        var minRows = node.Long("min_rows", min: 1);
        var minDuration = node.Duration("min_duration");
        var maxDuration = node.Duration("max_duration");
        var minLabels = node.Long("min_labels", min: 0);
        var maxErrorRate = node.Double("max_error_rate", min: 0, max: 1);
        var maxLatency = node.Double("max_latency_ratio", min: 1);
        var maxPsi = node.Double("max_score_psi", min: 0);
        var maxKs = node.Double("max_score_ks", min: 0, max: 1);
        var maxDrop = node.Double("max_metric_drop", min: 0);
        var alpha = node.Double("alpha", min: 0, max: 1);
        var scoreMin = node.Double("score_min");
        var scoreMax = node.Double("score_max");
        node.RejectUnknownKeys("model.rollout");
        var options = new RolloutOptions
        {
            Steps = steps.Count > 0 ? steps : d.Steps,
            MinRows = minRows ?? d.MinRows,
            MinDuration = minDuration ?? d.MinDuration,
            MaxDuration = maxDuration ?? d.MaxDuration,
            MinLabels = minLabels ?? d.MinLabels,
            MaxErrorRate = maxErrorRate ?? d.MaxErrorRate,
            MaxLatencyRatio = maxLatency ?? d.MaxLatencyRatio,
            MaxScorePsi = maxPsi ?? d.MaxScorePsi,
            MaxScoreKs = maxKs ?? d.MaxScoreKs,
            MaxMetricDrop = maxDrop ?? d.MaxMetricDrop,
            Alpha = alpha ?? d.Alpha,
            ScoreMin = scoreMin ?? d.ScoreMin,
            ScoreMax = scoreMax ?? d.ScoreMax,
        };
        try
        {
            options.Validate();
        }
        catch (RolloutException e)
        {
            node.Error(e.Message);
            return null;
        }
        if (candidate is null) return null;
        return (candidate, entry => new RolloutOptions
        {
            Steps = options.Steps, MinRows = options.MinRows, MinDuration = options.MinDuration, MaxDuration = options.MaxDuration,
            MinLabels = options.MinLabels, MaxErrorRate = options.MaxErrorRate, MaxLatencyRatio = options.MaxLatencyRatio,
            MaxScorePsi = options.MaxScorePsi, MaxScoreKs = options.MaxScoreKs, MaxMetricDrop = options.MaxMetricDrop,
            Alpha = options.Alpha, ScoreMin = options.ScoreMin, ScoreMax = options.ScoreMax, Task = RolloutSettings.TaskOf(entry),
        });
    }
}
