namespace StreamMl.Host.Registry;

/// <summary>How a version was compared with the production version when it was trained, and the numbers behind the
/// decision (see docs/training.md, "Champion and challenger").</summary>
public sealed record ChampionDecision
{
    /// <summary>The production version compared against.</summary>
    public int ProductionVersion { get; init; }

    /// <summary>The gate metric.</summary>
    public string Metric { get; init; } = "";

    /// <summary>"cross-validation" (both recipes on the same folds, paired) or "held-out" (the production version
    /// keeps no training spec, so only its stored model could be scored on the held-out rows).</summary>
    public string Basis { get; init; } = "";

    /// <summary>Folds compared (folds × repeats); 0 for a held-out comparison.</summary>
    public int Folds { get; init; }

    /// <summary>The challenger's mean score (over folds, or held-out).</summary>
    public double ChallengerMean { get; init; }

    /// <summary>The production version's mean score on the same folds (or held-out rows).</summary>
    public double ChampionMean { get; init; }

    /// <summary>Challenger − champion per fold, in the metric's better direction.</summary>
    public IReadOnlyList<double> FoldImprovements { get; init; } = [];

    /// <summary>Mean improvement (positive: the challenger is better).</summary>
    public double MeanImprovement { get; init; }

    /// <summary>Sample standard deviation of the per-fold improvements.</summary>
    public double StdDevImprovement { get; init; }

    /// <summary>Standard error of the mean improvement.</summary>
    public double StandardError { get; init; }

    /// <summary>The margin the mean improvement had to exceed (gates.championMargin).</summary>
    public double Margin { get; init; }

    /// <summary>How many standard errors the mean improvement had to exceed (gates.championStdErrors).</summary>
    public double StdErrors { get; init; }

    /// <summary>True when the champion gate passed.</summary>
    public bool Passed { get; init; }
}
