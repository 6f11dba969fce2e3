namespace StreamMl.Operators.Retraining;

/// <summary>How a challenger is compared with the champion: both are scored on the same held-out rows of the recent
/// window and on the same cross-validation folds of it (the challenger refitted on each fold's training rows, the champion
/// as it is), and the challenger must win on both.</summary>
public sealed record RetrainGateOptions
{
    /// <summary>The metric compared: <c>roc_auc</c> (binary, the default) or <c>rmse</c> (regression), or any metric of
    /// <see cref="Learners.MetricNames"/> for the task. Default null: roc_auc for binary, rmse for regression.</summary>
    public string? Metric { get; init; }

    /// <summary>The mean per-fold improvement, and the held-out improvement, must be greater than this. Default 0.</summary>
    public double Margin { get; init; }

    /// <summary>The mean per-fold improvement must also exceed this many standard errors. Default 1.</summary>
    public double StdErrors { get; init; } = 1;

    /// <summary>Cross-validation folds over the window's rows (outside the held-out share). Default 5.</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Share of the window held out for the final comparison. Default 0.2.</summary>
    public double Holdout { get; init; } = 0.2;

    /// <summary>Seed of the held-out split and the folds. Default 7.</summary>
    public int Seed { get; init; } = 7;

    /// <summary>Throws <see cref="RetrainException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (Folds < 2) throw new RetrainException($"gate.folds must be at least 2, not {Folds}");
        if (Holdout is <= 0 or >= 1) throw new RetrainException($"gate.holdout must be between 0 and 1, not {Holdout}");
        if (double.IsNaN(Margin) || Margin < 0) throw new RetrainException($"gate.margin must be 0 or more, not {Margin}");
        if (double.IsNaN(StdErrors) || StdErrors < 0) throw new RetrainException($"gate.std_errors must be 0 or more, not {StdErrors}");
    }
}
