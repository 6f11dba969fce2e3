using StreamMl.Operators.Metrics;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Models;

/// <summary>Turns a StartRollout request or a spec's <c>rollout:</c> section into <see cref="RolloutOptions"/>: unset
/// (zero) fields keep the operators' defaults, and the task comes from the candidate model.</summary>
internal static class RolloutSettings
{
    public static RolloutOptions FromRequest(Protos.StartRolloutRequest r, ModelEntry candidate)
    {
        var d = new RolloutOptions();
        return new RolloutOptions
        {
            Steps = r.Steps.Count > 0 ? [.. r.Steps] : d.Steps,
            MinRows = r.MinRows > 0 ? r.MinRows : d.MinRows,
            MinDuration = r.MinDurationSeconds > 0 ? TimeSpan.FromSeconds(r.MinDurationSeconds) : d.MinDuration,
            MaxDuration = r.MaxDurationSeconds > 0 ? TimeSpan.FromSeconds(r.MaxDurationSeconds) : d.MaxDuration,
            MinLabels = r.MinLabels switch { < 0 => 0, 0 => d.MinLabels, var n => n },
            MaxErrorRate = r.MaxErrorRate > 0 ? r.MaxErrorRate : d.MaxErrorRate,
            MaxLatencyRatio = r.MaxLatencyRatio > 0 ? r.MaxLatencyRatio : d.MaxLatencyRatio,
            MaxScorePsi = r.MaxScorePsi > 0 ? r.MaxScorePsi : d.MaxScorePsi,
            MaxScoreKs = r.MaxScoreKs > 0 ? r.MaxScoreKs : d.MaxScoreKs,
            MaxMetricDrop = r.MaxMetricDrop > 0 ? r.MaxMetricDrop : d.MaxMetricDrop,
            Alpha = r.Alpha > 0 ? r.Alpha : d.Alpha,
            ScoreMin = r.ScoreMin,
            ScoreMax = r.ScoreMax != 0 || r.ScoreMin != 0 ? r.ScoreMax : d.ScoreMax,
            Task = TaskOf(candidate),
        };
    }

    /// <summary>The rollout task of a model: binary or regression (multiclass models have no single score to judge).</summary>
    public static ModelTask TaskOf(ModelEntry candidate) => candidate.Task switch
    {
        "binary" => ModelTask.BinaryClassification,
        "regression" => ModelTask.Regression,
        _ => throw new RolloutException($"{candidate.Id} is a {candidate.Task} model; rollouts judge binary and regression models"),
    };
}
