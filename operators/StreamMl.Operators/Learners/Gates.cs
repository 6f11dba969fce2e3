namespace StreamMl.Operators.Learners;

/// <summary>Acceptance gates a trained model must pass before it may be promoted. Every value is optional; an unset
/// gate always passes.</summary>
public sealed record AcceptanceGates
{
    /// <summary>The metric the gates look at (default: roc_auc for binary, f1 for multiclass, rmse for regression).</summary>
    public string? Metric { get; init; }

    /// <summary>Underfitting: the cross-validated mean must be at least this (at most, for error metrics).</summary>
    public double? MinScore { get; init; }

    /// <summary>Overfitting: |train − held-out| may be at most this.</summary>
    public double? MaxTrainTestGap { get; init; }

    /// <summary>Champion/challenger: the new model must beat the production model on the same held-out rows by at
    /// least this margin (in the metric's units, in the better direction).</summary>
    public double? ChampionMargin { get; init; }

    /// <summary>Champion/challenger on paired cross-validation folds: besides exceeding <see cref="ChampionMargin"/>, the
    /// mean per-fold improvement must exceed this many standard errors of it (default 1; 0 turns it off).</summary>
    public double ChampionStdErrors { get; init; } = 1;

    /// <summary>The metric of <paramref name="task"/> the gates use.</summary>
    public string MetricFor(LearningTask task) => Metric ?? task switch
    {
        LearningTask.Binary => MetricNames.RocAuc,
        LearningTask.Multiclass => MetricNames.F1,
        _ => MetricNames.Rmse,
    };

    /// <summary>Checks the gates. <paramref name="champion"/> is the production model's score on the held-out rows,
    /// or null when there is none (then the champion gate passes).</summary>
    public GateReport Check(LearningTask task, double crossValidated, double train, double heldOut, double? champion)
    {
        var metric = MetricFor(task);
        var higher = MetricNames.HigherIsBetter(metric);
        var results = new List<GateResult>();
        if (MinScore is { } min)
        {
            var ok = higher ? crossValidated >= min : crossValidated <= min;
            results.Add(new GateResult("min-score", ok,
                $"cross-validated {metric} {crossValidated:G6} {(ok ? "meets" : "misses")} the {(higher ? "minimum" : "maximum")} {min:G6}"));
        }
        if (MaxTrainTestGap is { } gap)
        {
            var actual = Math.Abs(train - heldOut);
            var ok = actual <= gap;
            results.Add(new GateResult("max-gap", ok,
                $"train {metric} {train:G6} vs held-out {heldOut:G6}: gap {actual:G6} {(ok ? "within" : "exceeds")} {gap:G6}"));
        }
        if (ChampionMargin is { } margin)
        {
            if (champion is not { } c)
            {
                results.Add(new GateResult("champion", true, "no production model to beat"));
            }
            else
            {
                var improvement = higher ? heldOut - c : c - heldOut;
                var ok = improvement >= margin;
                results.Add(new GateResult("champion", ok,
                    $"held-out {metric} {heldOut:G6} vs production {c:G6}: improvement {improvement:G6} {(ok ? "reaches" : "is below")} the margin {margin:G6}"));
            }
        }
        return new GateReport(metric, results);
    }

    /// <summary>Checks the gates with the champion gate decided on paired cross-validation folds: the challenger passes
    /// when its mean per-fold improvement over the champion is greater than <see cref="ChampionMargin"/> and greater
    /// than <see cref="ChampionStdErrors"/> standard errors. <paramref name="champion"/> null: no production model.</summary>
    public GateReport CheckPaired(LearningTask task, double crossValidated, double train, double heldOut, PairedComparison? champion)
    {
        var report = Check(task, crossValidated, train, heldOut, null);
        if (ChampionMargin is not { } margin || champion is null) return report;
        var mean = champion.MeanImprovement;
        var required = Math.Max(margin, ChampionStdErrors * champion.StandardError);
        var ok = mean > margin && mean > ChampionStdErrors * champion.StandardError;
        var gate = new GateResult("champion", ok, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"cross-validated {champion.Metric} on the same {champion.Improvements.Count} folds: {champion.Challenger.Average():G6} vs production "
            + $"{champion.Champion.Average():G6}, mean improvement {mean:G4} ± {champion.StdDevImprovement:G4} (std error {champion.StandardError:G4}) "
            + $"{(ok ? "exceeds" : "does not exceed")} {required:G4} (margin {margin:G4}, {ChampionStdErrors:G3} std errors)"));
        return report with { Results = [.. report.Results.Where(r => r.Gate != "champion"), gate] };
    }
}

/// <summary>The outcome of one gate.</summary>
public sealed record GateResult(string Gate, bool Passed, string Message);

/// <summary>The outcome of every gate.</summary>
public sealed record GateReport(string Metric, IReadOnlyList<GateResult> Results)
{
    /// <summary>True when every gate passed.</summary>
    public bool Passed => Results.All(r => r.Passed);
}
