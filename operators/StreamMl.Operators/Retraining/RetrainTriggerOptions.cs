namespace StreamMl.Operators.Retraining;

/// <summary>When a retrain starts: any condition that is set can fire it (at most one retrain runs at a time, and none
/// during the cooldown after the last one).</summary>
public sealed record RetrainTriggerOptions
{
    /// <summary>Fire when the latest drift report has at least this many features in drift. Default null: off.</summary>
    public int? DriftFeatures { get; init; }

    /// <summary>The live metric watched over the window's last <see cref="RetrainOptions.MetricRows"/> labelled rows:
    /// <c>auc</c>, <c>accuracy</c> (binary, threshold 0.5) or <c>rmse</c>. Default null: off.</summary>
    public string? Metric { get; init; }

    /// <summary>Fire when <see cref="Metric"/> stays below this value for <see cref="For"/> (for auc and accuracy).</summary>
    public double? Below { get; init; }

    /// <summary>Fire when <see cref="Metric"/> stays above this value for <see cref="For"/> (for rmse).</summary>
    public double? Above { get; init; }

    /// <summary>How long the metric must stay on the wrong side before the trigger fires. Default 0: at once.</summary>
    public TimeSpan For { get; init; }

    /// <summary>Fire on an alert raised by the monitor with this name. Default null: off.</summary>
    public string? Alert { get; init; }

    /// <summary>Fire on a schedule: this long after the loop started or the last retrain started. Default null: off.</summary>
    public TimeSpan? Every { get; init; }

    /// <summary>The metric names <see cref="Metric"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Metrics = ["auc", "accuracy", "rmse"];

    /// <summary>Throws <see cref="RetrainException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (DriftFeatures is null && Metric is null && Alert is null && Every is null)
            throw new RetrainException("retrain needs at least one trigger: drift_features, metric (with below or above), alert or every");
        if (DriftFeatures is < 1) throw new RetrainException($"drift_features must be at least 1, not {DriftFeatures}");
        if (Every is { } every && every <= TimeSpan.Zero) throw new RetrainException("every must be a positive duration");
        if (For < TimeSpan.Zero) throw new RetrainException("for must not be negative");
        if (Alert is { Length: 0 }) throw new RetrainException("alert must name a monitor");
        if (Metric is null)
        {
            if (Below is not null || Above is not null) throw new RetrainException("below and above need a metric (auc, accuracy or rmse)");
            return;
        }
        if (!Metrics.Contains(Metric)) throw new RetrainException($"metric '{Metric}' is not one of {string.Join(", ", Metrics)}");
        if ((Below is null) == (Above is null)) throw new RetrainException($"metric '{Metric}' needs exactly one of below or above");
        if (Metric == "rmse" && Below is not null) throw new RetrainException("metric 'rmse' is bad when high: use above, not below");
        if (Metric != "rmse" && Above is not null) throw new RetrainException($"metric '{Metric}' is bad when low: use below, not above");
    }
}
