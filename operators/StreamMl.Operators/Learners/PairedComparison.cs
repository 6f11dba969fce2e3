namespace StreamMl.Operators.Learners;

/// <summary>A challenger and a champion scored on the same cross-validation folds: the per-fold improvement of the
/// challenger (in the metric's better direction, so positive is better), its mean, sample standard deviation and
/// standard error. Pairing by fold removes the fold-to-fold variation both models share, which a comparison of two
/// independent means would count as noise.</summary>
public sealed record PairedComparison
{
    /// <summary>The metric compared.</summary>
    public required string Metric { get; init; }

    /// <summary>The challenger's score per fold (in fold order: repeat, then fold).</summary>
    public required IReadOnlyList<double> Challenger { get; init; }

    /// <summary>The champion's score on the same folds.</summary>
    public required IReadOnlyList<double> Champion { get; init; }

    /// <summary>Challenger − champion per fold for higher-is-better metrics, champion − challenger otherwise.</summary>
    public required IReadOnlyList<double> Improvements { get; init; }

    /// <summary>Mean of <see cref="Improvements"/>.</summary>
    public double MeanImprovement => Improvements.Average();

    /// <summary>Sample standard deviation of <see cref="Improvements"/> (0 for a single fold).</summary>
    public double StdDevImprovement => MetricSummary.Of(Improvements).StdDev;

    /// <summary>Standard error of <see cref="MeanImprovement"/>: std / √folds. Fold differences are not independent
    /// (training folds overlap), so this understates the uncertainty; the gate asks for several of them.</summary>
    public double StandardError => StdDevImprovement / Math.Sqrt(Improvements.Count);

    /// <summary>Pairs two lists of per-fold scores of <paramref name="metric"/>.</summary>
    public static PairedComparison Of(string metric, IReadOnlyList<double> challenger, IReadOnlyList<double> champion)
    {
        if (challenger.Count != champion.Count || challenger.Count == 0)
            throw new ArgumentException($"a paired comparison needs the same number of folds on both sides ({challenger.Count} and {champion.Count})");
        var higher = MetricNames.HigherIsBetter(metric);
        var improvements = challenger.Select((c, i) => higher ? c - champion[i] : champion[i] - c).ToArray();
        return new PairedComparison { Metric = metric, Challenger = challenger, Champion = champion, Improvements = improvements };
    }
}
