using System.Globalization;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Retraining;

/// <summary>How a challenger compared with the champion on the same rows: per cross-validation fold and on the held-out
/// rows of the recent window, and whether it passed.</summary>
public sealed record RetrainGateResult
{
    /// <summary>The metric compared.</summary>
    public required string Metric { get; init; }

    /// <summary>Per-fold scores of both, paired.</summary>
    public required PairedComparison Folds { get; init; }

    /// <summary>The challenger (fitted on all non-held-out rows) on the held-out rows.</summary>
    public required double HeldOutChallenger { get; init; }

    /// <summary>The champion on the same held-out rows.</summary>
    public required double HeldOutChampion { get; init; }

    /// <summary>Held-out rows compared.</summary>
    public required int HeldOutRows { get; init; }

    /// <summary>Window rows used for training the final challenger (outside the held-out rows).</summary>
    public required int WindowRows { get; init; }

    /// <summary>Reference rows added to every training set.</summary>
    public required int ReferenceRows { get; init; }

    /// <summary>The margin both improvements had to exceed.</summary>
    public required double Margin { get; init; }

    /// <summary>Standard errors the mean fold improvement had to exceed.</summary>
    public required double StdErrors { get; init; }

    /// <summary>Held-out improvement in the metric's better direction.</summary>
    public double HeldOutImprovement => MetricNames.HigherIsBetter(Metric) ? HeldOutChallenger - HeldOutChampion : HeldOutChampion - HeldOutChallenger;

    /// <summary>True when the challenger won on the folds (mean improvement above the margin and the standard errors)
    /// and on the held-out rows (improvement above the margin).</summary>
    public bool Passed => Folds.MeanImprovement > Margin && Folds.MeanImprovement > StdErrors * Folds.StandardError && HeldOutImprovement > Margin;

    /// <summary>One sentence with the numbers.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"{Metric} on the same {Folds.Improvements.Count} folds {Folds.Challenger.Average():F4} vs champion {Folds.Champion.Average():F4} "
        + $"(mean improvement {Folds.MeanImprovement:+0.0000;-0.0000}, std error {Folds.StandardError:F4}); on {HeldOutRows} held-out rows "
        + $"{HeldOutChallenger:F4} vs {HeldOutChampion:F4}; margin {Margin:G4}, {StdErrors:G3} std errors: {(Passed ? "challenger wins" : "challenger does not beat the champion")}");
}
