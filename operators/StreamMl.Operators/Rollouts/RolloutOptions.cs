using StreamMl.Operators.Metrics;

namespace StreamMl.Operators.Rollouts;

/// <summary>How a candidate model is rolled out: the steps it goes through and the guardrails each step must pass.
/// Every default is the one a spec's <c>rollout:</c> section gets when it leaves the setting out.</summary>
public sealed class RolloutOptions
{
    /// <summary>Candidate traffic shares, in order; 0 is a shadow step (the candidate scores every row, answers none).
    /// Each must be below 1: passing the last step promotes the candidate to all traffic. Default 0, 0.05, 0.25.</summary>
    public IReadOnlyList<double> Steps { get; init; } = [0, 0.05, 0.25];

    /// <summary>Rows the candidate must score in a step before the step can pass. Default 1,000.</summary>
    public long MinRows { get; init; } = 1000;

    /// <summary>Time a step must last before it can pass (a failing guardrail rolls back sooner). Default 5 minutes.</summary>
    public TimeSpan MinDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A step that has not met its minimums (rows, labels) after this long rolls back. Default 1 hour.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Labelled rows each model needs before the label guardrails count; the last step waits for them before
    /// promoting. 0 turns the label guardrails off. Default 500.</summary>
    public long MinLabels { get; init; } = 500;

    /// <summary>Binary classification (scores are probabilities, AUC and F1) or regression (RMSE). Default binary.</summary>
    public ModelTask Task { get; init; } = ModelTask.BinaryClassification;

    /// <summary>Decision threshold for F1 (binary). Default 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Largest share of the candidate's rows that may fail to score (null or non-finite score). Default 0.01.</summary>
    public double MaxErrorRate { get; init; } = 0.01;

    /// <summary>Largest candidate p99 batch scoring latency as a multiple of the champion's. Default 2.</summary>
    public double MaxLatencyRatio { get; init; } = 2;

    /// <summary>Batches each model must have scored in a step before the latency guardrail counts (a p99 over a few
    /// batches is their maximum, one garbage collection away from a false alarm). Default 50.</summary>
    public int MinLatencyBatches { get; init; } = 50;

    /// <summary>Batches a window lets pass untimed before it records latencies: a model's first runs (JIT, ONNX
    /// Runtime's first session runs) are not its steady latency, and one of them is the p99 of 50 batches. A window
    /// that feeds a rollout lives as long as the rollout, so this skips each model's first batches once. Default 10.</summary>
    public int LatencyWarmupBatches { get; init; } = 10;

    /// <summary>Largest population stability index between the candidate's and the champion's scores. Default 0.25.</summary>
    public double MaxScorePsi { get; init; } = 0.25;

    /// <summary>Largest Kolmogorov–Smirnov distance between the candidate's and the champion's scores. Default 0.2.</summary>
    public double MaxScoreKs { get; init; } = 0.2;

    /// <summary>Largest drop of the headline label metric: AUC (absolute) for binary, RMSE (relative increase) for
    /// regression. Default 0.02.</summary>
    public double MaxMetricDrop { get; init; } = 0.02;

    /// <summary>Significance of the one-sided test that the candidate's per-row loss (log loss or squared error) is
    /// higher than the champion's; a p-value below it rolls back. Default 0.01.</summary>
    public double Alpha { get; init; } = 0.01;

    /// <summary>Lowest score of the histograms behind PSI, KS and AUC (lower scores count in the first bin). Default 0.</summary>
    public double ScoreMin { get; init; }

    /// <summary>Highest score of the histograms (higher scores count in the last bin). Default 1.</summary>
    public double ScoreMax { get; init; } = 1;

    /// <summary>Checks the settings; throws <see cref="RolloutException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (Steps.Count == 0) throw new RolloutException("rollout steps: give at least one step (0 for shadow, or a traffic share)");
        for (var i = 0; i < Steps.Count; i++)
        {
            var s = Steps[i];
            if (!(s >= 0 && s < 1))
                throw new RolloutException($"rollout steps[{i}] is {s}: a step is a traffic share from 0 (shadow) up to, not including, 1 (passing the last step promotes to all traffic)");
            if (i > 0 && s < Steps[i - 1]) throw new RolloutException($"rollout steps[{i}] ({s}) is below the step before it ({Steps[i - 1]}): shares only grow");
        }
        if (MinRows < 1) throw new RolloutException($"rollout min_rows is {MinRows}: a step needs at least 1 row");
        if (MinDuration < TimeSpan.Zero) throw new RolloutException("rollout min_duration must not be negative");
        if (MaxDuration <= MinDuration) throw new RolloutException($"rollout max_duration ({MaxDuration}) must be longer than min_duration ({MinDuration})");
        if (MinLabels < 0) throw new RolloutException("rollout min_labels must not be negative");
        if (!(MaxErrorRate is >= 0 and <= 1)) throw new RolloutException($"rollout max_error_rate is {MaxErrorRate}: give a share between 0 and 1");
        if (!(Alpha is > 0 and < 1)) throw new RolloutException($"rollout alpha is {Alpha}: give a significance between 0 and 1");
        if (!(ScoreMax > ScoreMin)) throw new RolloutException($"rollout score range [{ScoreMin}, {ScoreMax}] is empty");
        if (Task is not (ModelTask.BinaryClassification or ModelTask.Regression)) throw new RolloutException($"rollout task {Task} is not supported: use binary or regression");
    }
}
