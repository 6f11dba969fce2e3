using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Search;

/// <summary>How <see cref="ModelSearch"/> explores trainers and hyper-parameters.</summary>
public sealed record SearchOptions
{
    /// <summary>Wall time the search may take (default 2 minutes). Trials are not started when the time an earlier trial
    /// of the same trainer and size took would overrun it, and a running trial does not start a fold that would end
    /// after the budget at the pace of its earlier folds, so the search overruns only when a fold is slower than the
    /// ones before it (by less than one fold fit).</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Candidates that must be cross-validated on every row however short the budget (default 0). The portfolio
    /// (each trainer's first known-good configuration in turn, then the second ...) keeps running past the budget until
    /// this many are complete: an ensemble of N members asks for N, so a slow first trainer cannot leave it one member.</summary>
    public int MinimumComplete { get; init; }

    /// <summary>The metric that ranks candidates (default: roc_auc for binary, f1 for multiclass, rmse for regression).</summary>
    public string? Metric { get; init; }

    /// <summary>Trainers to try (default: every trainer of the task).</summary>
    public IReadOnlyList<string>? Trainers { get; init; }

    /// <summary>Seed of the random candidates (default 1).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Folds (default 5) and the seed of their assignment (default 42): stratified for classification,
    /// shuffled for regression, the same for every trial.</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Seed of the fold assignment (default 42, as <see cref="CrossValidationOptions.Seed"/>).</summary>
    public int FoldSeed { get; init; } = 42;

    /// <summary>Candidates per successive-halving bracket (default 9); a third of them go on to three times the rows,
    /// until every training row is used.</summary>
    public int Candidates { get; init; } = 9;

    /// <summary>Seed of the trainers (<see cref="LearnerOptions.Seed"/>; default 1).</summary>
    public int LearnerSeed { get; init; } = 1;

    /// <summary>Threads per fit (default null: the trainer's default).</summary>
    public int? Threads { get; init; }

    /// <summary>Classes of a multiclass task (see <see cref="LearnerOptions.Classes"/>).</summary>
    public int? Classes { get; init; }

    /// <summary>Makes the learner of a candidate (default: <see cref="MlNetLearner"/>); a wrapper such as
    /// <see cref="EncodingLearner"/> is fitted inside every fold like the candidate itself.</summary>
    public Func<LearnerOptions, ILearner>? Learner { get; init; }

    /// <summary>Called after each trial, for progress and logs.</summary>
    public Action<SearchTrial>? Trial { get; init; }
}
