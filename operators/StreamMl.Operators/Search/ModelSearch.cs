using System.Diagnostics;
using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Search;

/// <summary>Time-budgeted model search: a portfolio of known-good configurations on every row first, then rounds of
/// (a) neighbours of the best configurations so far on every row (local search) and (b) one bracket of successive
/// halving over random candidates across trainers and hyper-parameters. A bracket cross-validates its candidates on
/// the same folds with a ninth of the rows of each training fold (nested random subsets), keeps the best third for
/// three times the rows, and so on until the survivors are fitted on every training row. Rounds repeat until the
/// budget is spent. Every trial is logged.</summary>
public static class ModelSearch
{
    /// <summary>Searches on <paramref name="set"/> and returns every trial and the best one fitted on every row.</summary>
    /// <exception cref="StreamMlException">A trainer or metric is not one of the task's, or the budget ran out before any
    /// candidate was cross-validated on every row.</exception>
    public static SearchResult Run(LearningTask task, TrainingSet set, SearchOptions options, CancellationToken cancellationToken = default)
    {
        var metric = options.Metric ?? (task switch { LearningTask.Binary => MetricNames.RocAuc, LearningTask.Multiclass => MetricNames.F1, _ => MetricNames.Rmse });
        if (!MetricNames.For(task).Contains(metric))
            throw new StreamMlException($"search metric '{metric}' is not a {Name(task)} metric; use one of: {string.Join(", ", MetricNames.For(task))}");
        var trainers = (options.Trainers is { Count: > 0 } named ? named : MlNetLearner.Trainers[task]).Select(t => t.ToLowerInvariant()).Distinct().ToList();
        foreach (var trainer in trainers)
        {
            if (!MlNetLearner.Trainers[task].Contains(trainer))
                throw new StreamMlException($"search trainer '{trainer}' does not do {Name(task)}; use one of: {string.Join(", ", MlNetLearner.Trainers[task])}");
        }
        var higherIsBetter = MetricNames.HigherIsBetter(metric);
        var clock = Stopwatch.StartNew();
        var budget = options.Budget.TotalSeconds;
        var classes = task switch { LearningTask.Binary => 2, LearningTask.Multiclass => Math.Max(set.ClassCount(), options.Classes ?? 0), _ => 1 };
        var width = task == LearningTask.Multiclass ? classes : 1;

        var foldOfRow = task == LearningTask.Regression
            ? Learners.Folds.Shuffled(set.Rows, options.Folds, options.FoldSeed)
            : Learners.Folds.Stratified(set.Labels, options.Folds, options.FoldSeed);
        var splits = Enumerable.Range(0, options.Folds).Select(f => Learners.Folds.Split(foldOfRow, f)).ToArray();
        var validation = splits.Select(s => set.Subset(s.Validation)).ToArray();
        // One random key per row: a rung with share s fits the training rows whose key is below s, so each rung's rows
        // hold the smaller rung's rows.
        var keyRandom = new Random(options.Seed);
        var rowKey = Enumerable.Range(0, set.Rows).Select(_ => keyRandom.NextDouble()).ToArray();
        var shares = Shares(splits.Min(s => s.Train.Length));

        var space = new SearchSpace(trainers, options.Seed, options.Threads, task == LearningTask.Multiclass ? classes : options.Classes, options.LearnerSeed);
        var trials = new List<SearchTrial>();
        var cost = new Dictionary<(string Trainer, int Rung), double>();
        var candidateCount = 0;
        void Record(SearchTrial trial, int rung)
        {
            trials.Add(trial);
            options.Trial?.Invoke(trial);
            if (trial.Complete) cost[(trial.Options.Trainer, rung)] = trial.Seconds;
        }
        SearchTrial Run(LearnerOptions candidate, int id, int rung, string origin, double until) =>
            RunTrial(task, options.Learner, set, candidate, id, rung, shares[rung], splits, validation, rowKey, metric, classes, width,
                trials.Count + 1, clock, until, cancellationToken) with { Origin = origin };
        // First the portfolio on every row (FLAML's low-cost start): a complete, comparable result per trainer before
        // any random candidate, so even a short budget ends with a model at least as good as the portfolio's best. The
        // first MinimumComplete complete candidates run whatever the budget says.
        var top = shares.Length - 1;
        foreach (var candidate in space.Portfolio())
        {
            var owed = trials.Count(t => t.Complete && !double.IsNaN(t.Mean)) < options.MinimumComplete;
            if (!owed && clock.Elapsed.TotalSeconds >= budget) break;
            if (!owed && !Affordable(cost, candidate.Trainer, top, shares, clock.Elapsed.TotalSeconds, budget)) continue;
            Record(Run(candidate, ++candidateCount, top, SearchOrigins.Portfolio, owed ? double.PositiveInfinity : budget), top);
        }
        while (clock.Elapsed.TotalSeconds < budget)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Local search (CFO): neighbours of the best configuration on every row, every third one around the best of
            // the runner-up trainer (ensembles gain from a strong second trainer).
            var ranNear = 0;
            var leaders = Leaders(trials, higherIsBetter);
            for (var i = 0; i < NeighboursPerRound && leaders.Count > 0 && clock.Elapsed.TotalSeconds < budget; i++)
            {
                var candidate = space.Near(leaders[i == NeighboursPerRound - 1 && leaders.Count > 1 ? 1 : 0].Options);
                if (!Affordable(cost, candidate.Trainer, top, shares, clock.Elapsed.TotalSeconds, budget)) continue;
                Record(Run(candidate, ++candidateCount, top, SearchOrigins.Near, budget), top);
                ranNear++;
                leaders = Leaders(trials, higherIsBetter);
            }
            if (clock.Elapsed.TotalSeconds >= budget) break;
            // Exploration: one bracket of successive halving over random candidates.
            var survivors = Enumerable.Range(0, options.Candidates).Select(_ => (Id: ++candidateCount, Options: space.Next())).ToList();
            var ranInBracket = 0;
            for (var rung = 0; rung < shares.Length && survivors.Count > 0; rung++)
            {
                var scored = new List<(int Id, LearnerOptions Options, double Mean)>();
                foreach (var (id, candidate) in survivors)
                {
                    if (!Affordable(cost, candidate.Trainer, rung, shares, clock.Elapsed.TotalSeconds, budget)) continue;
                    var trial = Run(candidate, id, rung, SearchOrigins.Random, budget);
                    Record(trial, rung);
                    ranInBracket++;
                    if (trial.Complete && !double.IsNaN(trial.Mean)) scored.Add((id, candidate, trial.Mean));
                    if (clock.Elapsed.TotalSeconds >= budget) break;
                }
                var keep = rung + 1 < shares.Length ? Math.Max(1, (int)Math.Ceiling(scored.Count / 3.0)) : 0;
                survivors = scored.OrderBy(s => higherIsBetter ? -s.Mean : s.Mean).Take(keep).Select(s => (s.Id, s.Options)).ToList();
                if (clock.Elapsed.TotalSeconds >= budget) break;
            }
            if (ranInBracket == 0 && ranNear == 0) break;
        }
        var complete = trials.Where(t => t.Complete && t.RowShare >= 1 && !double.IsNaN(t.Mean)).ToList();
        if (complete.Count == 0)
            throw new StreamMlException($"the search budget of {options.Budget.TotalSeconds:0.#} s ran out before any candidate was cross-validated on every row "
                + $"({trials.Count} trials on subsets); raise search.budget or name fewer or faster trainers");
        var best = complete.OrderBy(t => higherIsBetter ? -t.Mean : t.Mean).First();
        return new SearchResult(metric, trials, best, clock.Elapsed.TotalSeconds, foldOfRow);
    }

    /// <summary>Neighbours of the best configurations tried between two successive-halving brackets.</summary>
    public const int NeighboursPerRound = 3;

    /// <summary>The best complete trial on every row of each trainer, best first.</summary>
    private static List<SearchTrial> Leaders(List<SearchTrial> trials, bool higherIsBetter) =>
        [.. trials.Where(t => t.Complete && t.RowShare >= 1 && !double.IsNaN(t.Mean))
            .GroupBy(t => t.Options.Trainer)
            .Select(g => g.OrderBy(t => higherIsBetter ? -t.Mean : t.Mean).First())
            .OrderBy(t => higherIsBetter ? -t.Mean : t.Mean)];

    /// <summary>Row shares of the rungs: 1/9, 1/3, 1 when the smallest rung still has 300 rows per training fold; fewer
    /// rungs for small sets.</summary>
    private static double[] Shares(int trainRows)
    {
        var shares = new List<double> { 1 };
        while (shares.Count < 3 && trainRows * shares[0] / 3 >= 300) shares.Insert(0, shares[0] / 3);
        return [.. shares];
    }

    /// <summary>False when the last complete trial of this trainer at this rung (or the rung below, scaled by rows) would
    /// not end within the budget; a trainer not yet timed is estimated by the slowest trainer timed at this rung.</summary>
    private static bool Affordable(Dictionary<(string, int), double> cost, string trainer, int rung, double[] shares, double elapsed, double budget)
    {
        double? estimate = cost.TryGetValue((trainer, rung), out var seconds) ? seconds
            : rung > 0 && cost.TryGetValue((trainer, rung - 1), out var below) ? below * shares[rung] / shares[rung - 1]
            : cost.Where(c => c.Key.Item2 == rung).Select(c => (double?)c.Value).Max();
        return estimate is null ? elapsed < budget : elapsed + estimate.Value <= budget;
    }

    private static SearchTrial RunTrial(LearningTask task, Func<LearnerOptions, ILearner>? makeLearner, TrainingSet set, LearnerOptions candidate, int id, int rung, double share,
        (int[] Train, int[] Validation)[] splits, TrainingSet[] validation, double[] rowKey, string metric, int classes, int width,
        int trialId, Stopwatch clock, double budget, CancellationToken cancellationToken)
    {
        var started = clock.Elapsed.TotalSeconds;
        var scores = new List<double>();
        var trees = new List<int>();
        var outOfFold = share >= 1 ? new float[set.Rows * width] : null;
        string? error = null;
        try
        {
            var learner = makeLearner?.Invoke(candidate) ?? new MlNetLearner(task, candidate);
            for (var fold = 0; fold < splits.Length; fold++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Not a fold that would end after the budget at the pace of this trial's earlier folds.
                var now = clock.Elapsed.TotalSeconds;
                if (now + (fold == 0 ? 0 : (now - started) / fold) > budget) break;
                var rows = share >= 1 ? splits[fold].Train : splits[fold].Train.Where(r => rowKey[r] < share).ToArray();
                var model = learner.FitToPredict(set.Subset(rows));
                var predictions = model.Predict(validation[fold]);
                (model as IDisposable)?.Dispose();
                scores.Add(CrossValidator.Score(task, validation[fold].Labels, predictions, classes)[metric]);
                if (model.Trees is { } t) trees.Add(t);
                if (outOfFold is not null)
                {
                    var validationRows = splits[fold].Validation;
                    for (var i = 0; i < validationRows.Length; i++)
                        Array.Copy(predictions, i * width, outOfFold, validationRows[i] * width, width);
                }
            }
        }
        catch (Exception e) when (e is StreamMlException or InvalidOperationException or ArgumentException)
        {
            error = e.Message;
        }
        var complete = error is null && scores.Count == splits.Length;
        return new SearchTrial
        {
            Id = trialId,
            Candidate = id,
            Rung = rung,
            RowShare = share,
            Options = candidate,
            FoldScores = [.. scores],
            Seconds = Math.Round(clock.Elapsed.TotalSeconds - started, 3),
            Trees = [.. trees],
            Complete = complete,
            Error = error,
            OutOfFold = complete ? outOfFold : null,
        };
    }

    private static string Name(LearningTask task) => task.ToString().ToLowerInvariant();
}
