using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Retraining;

/// <summary>Trains a challenger on the recent window (plus reference rows) and compares it with the champion on the same
/// rows: a share of the window is held out; the rest is split into folds; on each fold the challenger is refitted on the
/// other folds (plus the reference rows) and both models are scored on the fold's rows, a paired comparison; the final
/// challenger is fitted on all non-held-out rows and both are scored on the held-out rows. The champion is scored as it
/// is (it was trained earlier, on other data).</summary>
public static class RetrainGate
{
    /// <summary>Runs the comparison and returns it with the final challenger.</summary>
    /// <param name="learner">Fits the challenger (the champion's recipe).</param>
    /// <param name="window">The recent labelled rows.</param>
    /// <param name="reference">Rows added to every training set (e.g. the champion's training rows); never scored.</param>
    /// <param name="champion">The champion's predictions for a set of rows.</param>
    /// <param name="options">Folds, held-out share, seed, margin.</param>
    /// <param name="cancellationToken">Stops between fits.</param>
    public static (RetrainGateResult Result, IFittedModel Challenger) Run(ILearner learner, TrainingSet window, TrainingSet? reference,
        Func<TrainingSet, float[]> champion, RetrainGateOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var task = learner.Task;
        if (task == LearningTask.Multiclass) throw new RetrainException("retraining gates binary classifiers and regressors; multiclass models are not supported yet");
        if (reference is not null && reference.FeatureCount != window.FeatureCount)
            throw new RetrainException($"the reference rows have {reference.FeatureCount} features and the window {window.FeatureCount}");
        var metric = options.Metric ?? (task == LearningTask.Binary ? MetricNames.RocAuc : MetricNames.Rmse);
        var split = task == LearningTask.Binary
            ? Folds.StratifiedSplit(window.Labels, options.Holdout, options.Seed)
            : Folds.ShuffledSplit(window.Rows, options.Holdout, options.Seed);
        var train = window.Subset(split.Train);
        var test = window.Subset(split.Test);
        var folds = task == LearningTask.Binary
            ? Learners.Folds.Stratified(train.Labels, options.Folds, options.Seed)
            : Learners.Folds.Shuffled(train.Rows, options.Folds, options.Seed);
        var challengerScores = new double[options.Folds];
        var championScores = new double[options.Folds];
        for (var fold = 0; fold < options.Folds; fold++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (fit, validate) = Learners.Folds.Split(folds, fold);
            var foldRows = train.Subset(validate);
            var model = learner.Fit(WithReference(train.Subset(fit), reference));
            challengerScores[fold] = Score(task, metric, foldRows.Labels, model.Predict(foldRows));
            championScores[fold] = Score(task, metric, foldRows.Labels, champion(foldRows));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var final = learner.Fit(WithReference(train, reference));
        var result = new RetrainGateResult
        {
            Metric = metric,
            Folds = PairedComparison.Of(metric, challengerScores, championScores),
            HeldOutChallenger = Score(task, metric, test.Labels, final.Predict(test)),
            HeldOutChampion = Score(task, metric, test.Labels, champion(test)),
            HeldOutRows = test.Rows,
            WindowRows = train.Rows,
            ReferenceRows = reference?.Rows ?? 0,
            Margin = options.Margin,
            StdErrors = options.StdErrors,
        };
        return (result, final);
    }

    /// <summary><paramref name="rows"/> followed by <paramref name="reference"/>'s rows (when given), row ids kept (a
    /// learner that reads its rows from elsewhere finds them by id).</summary>
    public static TrainingSet WithReference(TrainingSet rows, TrainingSet? reference)
    {
        if (reference is null || reference.Rows == 0) return rows;
        return new TrainingSet([.. rows.Features, .. reference.Features], rows.FeatureCount, [.. rows.Labels, .. reference.Labels], rows.FeatureNames,
            rowIds: [.. rows.RowIds, .. reference.RowIds]);
    }

    private static double Score(LearningTask task, string metric, float[] labels, float[] predictions) => task == LearningTask.Binary
        ? Evaluate.Binary(labels, predictions)[metric]
        : Evaluate.Regression(labels, predictions)[metric];
}
