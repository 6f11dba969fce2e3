using System.Text.Json;
using StreamMl.Host.Registry;
using StreamMl.Operators.Ensembles;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Search;

namespace StreamMl.Host.Training;

/// <summary>The ensemble a search ends with: its members (complete trials on every row: the best of each trainer, then
/// the best of the rest), how they are
/// combined, and what the registry keeps about it (<see cref="File"/>).</summary>
internal sealed class EnsembleRecord
{
    /// <summary>The file kept beside the model: method, members with their trial, trainer, hyper-parameters and CV
    /// score, the stacker's weights, and the ensemble's cross-validated score.</summary>
    public const string File = "ensemble.json";

    /// <summary>The manifest's trainer for an ensemble.</summary>
    public const string TrainerName = "ensemble";

    private EnsembleRecord(EnsembleSpec spec, IReadOnlyList<SearchTrial> members, int seed)
    {
        Spec = spec;
        Members = members;
        Options = new EnsembleOptions
        {
            Method = spec.Method == "stack" ? EnsembleMethod.Stack : EnsembleMethod.Average,
            StackFolds = spec.StackFolds,
            Seed = seed,
        };
    }

    public EnsembleSpec Spec { get; }

    public IReadOnlyList<SearchTrial> Members { get; }

    public EnsembleOptions Options { get; }

    public static EnsembleRecord Of(SearchResult search, EnsembleSpec spec, int seed)
    {
        // The best trial of each trainer first (diverse members are what a combination gains from), then the best of
        // the rest, in rank order, up to top.
        var ranked = search.Ranked(int.MaxValue).ToList();
        var firstOfEachTrainer = ranked.GroupBy(t => t.Options.Trainer).Select(g => g.First()).Take(spec.Top).ToHashSet();
        var members = ranked.Where(firstOfEachTrainer.Contains)
            .Concat(ranked.Where(t => !firstOfEachTrainer.Contains(t)).Take(spec.Top - firstOfEachTrainer.Count))
            .OrderBy(t => ranked.IndexOf(t)).ToList();
        if (members.Count < 2)
            throw new Engine.StreamMlException($"search.ensemble needs at least 2 trials cross-validated on every row; the search ended with {members.Count}. "
                + "Raise search.budget or remove search.ensemble");
        return new EnsembleRecord(spec, members, seed);
    }

    /// <summary>The ensemble learner, each member made by <paramref name="make"/> (so it carries the spec's encodings).</summary>
    public EnsembleLearner Learner(Func<LearnerOptions, ILearner> make) => new([.. Members.Select(m => make(m.Options))], Options);

    public string ToJson(EnsembleModel? model, CrossValidationResult cv, string metric) => JsonSerializer.Serialize(new
    {
        method = Spec.Method,
        top = Spec.Top,
        stackFolds = Spec.Method == "stack" ? Spec.StackFolds : (int?)null,
        metric,
        crossValidation = cv.Validation.TryGetValue(metric, out var summary) ? new { mean = summary.Mean, std = summary.StdDev } : null,
        members = Members.Select(m => new
        {
            trial = m.Id,
            trainer = m.Options.Trainer,
            hyperparameters = m.Options,
            mean = m.Mean,
            std = m.StdDev,
            foldScores = m.FoldScores,
        }),
        stacker = model?.Stacker is { } stacker ? new { weights = stacker.Weights, bias = stacker.Bias } : null,
    }, ModelRegistry.s_json);
}
