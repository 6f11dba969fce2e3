using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Search;

/// <summary>One cross-validated candidate of a <see cref="ModelSearch"/>.</summary>
public sealed record SearchTrial
{
    /// <summary>Trial number, from 1, in the order trials ran.</summary>
    public required int Id { get; init; }

    /// <summary>The candidate (the same id across the rungs it reached).</summary>
    public required int Candidate { get; init; }

    /// <summary>Where the candidate came from: <c>portfolio</c> (the known-good start), <c>near</c> (a neighbour of the
    /// best configuration so far) or <c>random</c> (a successive-halving bracket).</summary>
    public string Origin { get; init; } = SearchOrigins.Random;

    /// <summary>Successive-halving rung: 0 for the smallest share of the training rows.</summary>
    public required int Rung { get; init; }

    /// <summary>Share of each training fold fitted (1 = all rows).</summary>
    public required double RowShare { get; init; }

    /// <summary>Trainer and hyper-parameters.</summary>
    public required LearnerOptions Options { get; init; }

    /// <summary>The metric per validation fold.</summary>
    public required double[] FoldScores { get; init; }

    /// <summary>Mean of <see cref="FoldScores"/>.</summary>
    public double Mean => FoldScores.Length == 0 ? double.NaN : FoldScores.Average();

    /// <summary>Sample standard deviation of <see cref="FoldScores"/>.</summary>
    public double StdDev => MetricSummary.Of(FoldScores).StdDev;

    /// <summary>Wall seconds the trial took.</summary>
    public required double Seconds { get; init; }

    /// <summary>Trees early stopping chose per fold (boosted trainers), else empty.</summary>
    public int[] Trees { get; init; } = [];

    /// <summary>False when the budget ran out before every fold was fitted (the trial is logged, never chosen).</summary>
    public required bool Complete { get; init; }

    /// <summary>Why the trial failed (the trainer's message), or null.</summary>
    public string? Error { get; init; }

    /// <summary>Out-of-fold predictions (layout of <see cref="IFittedModel.Predict"/>) of a complete trial on every row;
    /// null for partial-row rungs. Ensembles stack these.</summary>
    public float[]? OutOfFold { get; init; }
}

/// <summary>The outcome of a <see cref="ModelSearch"/>.</summary>
/// <param name="Metric">The metric that ranked the trials.</param>
/// <param name="Trials">Every trial in the order they ran.</param>
/// <param name="Best">The best complete trial on every row.</param>
/// <param name="Seconds">Wall seconds the search took.</param>
/// <param name="FoldOfRow">The fold of each row (every trial used this assignment).</param>
public sealed record SearchResult(string Metric, IReadOnlyList<SearchTrial> Trials, SearchTrial Best, double Seconds, int[] FoldOfRow)
{
    /// <summary>Complete trials on every row, best first.</summary>
    public IReadOnlyList<SearchTrial> Ranked(int count) => Trials.Where(t => t.Complete && t.RowShare >= 1)
        .OrderBy(t => MetricNames.HigherIsBetter(Metric) ? -t.Mean : t.Mean).Take(count).ToList();
}

/// <summary>The values of <see cref="SearchTrial.Origin"/>.</summary>
public static class SearchOrigins
{
    /// <summary>A configuration of the portfolio every search starts with.</summary>
    public const string Portfolio = "portfolio";

    /// <summary>A neighbour of the best configuration on every row so far.</summary>
    public const string Near = "near";

    /// <summary>A random configuration of a successive-halving bracket.</summary>
    public const string Random = "random";
}
