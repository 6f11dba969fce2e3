namespace StreamMl.Operators.Learners;

/// <summary>How cross-validation runs.</summary>
public sealed record CrossValidationOptions
{
    /// <summary>Folds (default 5).</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Repeats, each with its own fold assignment (seed, seed+1, ...). Default 1.</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>Seed of the first fold assignment and of resampling (default 42).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Applied to each training fold (never to the validation fold); null for none.</summary>
    public IResampler? Resampler { get; init; }

    /// <summary>Weight each training fold's rows by <see cref="Resamplers.BalancedWeights"/>.</summary>
    public bool BalancedClassWeights { get; init; }

    /// <summary>Decision threshold for binary metrics (default 0.5).</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Folds fitted at the same time (default 1: one after another). Results do not depend on it: each fold's
    /// rows, seeds and model are the same whichever thread fits it (CrossValidationTests). See
    /// <see cref="CrossValidator.AutoParallelFolds"/> for a choice that suits the machine.</summary>
    public int ParallelFolds { get; init; } = 1;

    /// <summary>Called after each fold with (done, total), for progress bars and log lines; with parallel folds, from
    /// the thread that finished the fold, one call at a time.</summary>
    public Action<int, int>? Progress { get; init; }
}

/// <summary>The outcome of one fold.</summary>
public sealed record FoldResult(int Repeat, int Fold, int TrainRows, int ValidationRows, EvaluationMetrics Train, EvaluationMetrics Validation)
{
    /// <summary>Positions (in the cross-validated set) of the fold's validation rows, ascending.</summary>
    public int[] ValidationRowIndices { get; init; } = [];

    /// <summary>The fold model's predictions for <see cref="ValidationRowIndices"/> (layout of <see cref="IFittedModel.Predict"/>).</summary>
    public float[] ValidationPredictions { get; init; } = [];

    /// <summary>Positions of the fold's training rows (before resampling), ascending.</summary>
    public int[] TrainRowIndices { get; init; } = [];

    /// <summary>The fold model's predictions for <see cref="TrainRowIndices"/>.</summary>
    public float[] TrainPredictions { get; init; } = [];

    /// <summary>Trees early stopping chose for the fold model; null without early stopping.</summary>
    public int? Trees { get; init; }
}

/// <summary>The outcome of a cross-validation: per fold, mean ± std per metric, and the out-of-fold predictions of the
/// first repeat (every row predicted by the model that did not see it), for threshold tuning, with the fold of each row
/// in that repeat (to compare other tools on the same folds).</summary>
public sealed record CrossValidationResult(
    LearningTask Task,
    IReadOnlyList<FoldResult> Folds,
    IReadOnlyDictionary<string, MetricSummary> Validation,
    IReadOnlyDictionary<string, MetricSummary> Train,
    float[] OutOfFold,
    int[] FoldOfRow);

/// <summary>k-fold cross-validation: stratified for classification, shuffled for regression, repeatable with seeds.</summary>
public static class CrossValidator
{
    /// <summary>Runs cross-validation of <paramref name="learner"/> on <paramref name="set"/>.</summary>
    public static CrossValidationResult Run(ILearner learner, TrainingSet set, CrossValidationOptions options)
    {
        var task = learner.Task;
        var classes = task == LearningTask.Multiclass
            ? Math.Max(set.ClassCount(), (learner as MlNetLearner)?.Options.Classes ?? 0)
            : task == LearningTask.Binary ? 2 : 1;
        var width = task == LearningTask.Multiclass ? classes : 1;
        var outOfFold = new float[set.Rows * width];
        var jobs = new List<(int Repeat, int Fold, int Seed, int[] Assignment)>();
        for (var repeat = 0; repeat < options.Repeats; repeat++)
        {
            var seed = options.Seed + repeat;
            var assignment = task == LearningTask.Regression
                ? Learners.Folds.Shuffled(set.Rows, options.Folds, seed)
                : Learners.Folds.Stratified(set.Labels, options.Folds, seed);
            for (var fold = 0; fold < options.Folds; fold++) jobs.Add((repeat, fold, seed, assignment));
        }
        var folds = new FoldResult[jobs.Count];
        var done = 0;
        var progressLock = new Lock();
        void RunFold(int job)
        {
            var (repeat, fold, seed, assignment) = jobs[job];
            var (trainRows, validationRows) = Learners.Folds.Split(assignment, fold);
            var train = set.Subset(trainRows);
            var validation = set.Subset(validationRows);
            var fitOn = PrepareTraining(train, options, seed * 1000 + fold);
            var model = learner.FitToPredict(fitOn);
            float[] validationPredictions, trainPredictions;
            try
            {
                validationPredictions = model.Predict(validation);
                trainPredictions = model.Predict(train);
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }
            if (repeat == 0)
            {
                for (var i = 0; i < validationRows.Length; i++)
                    Array.Copy(validationPredictions, i * width, outOfFold, validationRows[i] * width, width);
            }
            folds[job] = new FoldResult(repeat, fold, fitOn.Rows, validation.Rows,
                Score(task, train.Labels, trainPredictions, classes, options.Threshold),
                Score(task, validation.Labels, validationPredictions, classes, options.Threshold))
            {
                ValidationRowIndices = validationRows,
                ValidationPredictions = validationPredictions,
                TrainRowIndices = trainRows,
                TrainPredictions = trainPredictions,
                Trees = model.Trees,
            };
            lock (progressLock) options.Progress?.Invoke(++done, jobs.Count);
        }
        if (options.ParallelFolds <= 1)
        {
            for (var job = 0; job < jobs.Count; job++) RunFold(job);
        }
        else
        {
            try
            {
                Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = options.ParallelFolds }, RunFold);
            }
            catch (AggregateException e)
            {
                // The first fold's own error (a StreamMlException says what is wrong), not the wrapper.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
        }
        return new CrossValidationResult(task, folds,
            Summarise(folds.Select(f => f.Validation)), Summarise(folds.Select(f => f.Train)), outOfFold, jobs[0].Assignment);
    }

    /// <summary>Folds to fit at once on this machine: as many as the cores hold when each fit uses
    /// <paramref name="threadsPerFit"/> threads (at most <paramref name="folds"/>); 1 when a fit uses every core
    /// (<paramref name="threadsPerFit"/> null). With one thread per fit on 2 cores, 2 folds at once cut the credit
    /// cross-validation's wall time (docs/BENCHMARKS.md, "Cross-validation").</summary>
    public static int AutoParallelFolds(int? threadsPerFit, int folds, int? cores = null)
    {
        if (threadsPerFit is not { } threads) return 1;
        return Math.Clamp((cores ?? Environment.ProcessorCount) / Math.Max(1, threads), 1, Math.Max(1, folds));
    }

    /// <summary>The number of trees for a model fitted on every row after an early-stopped cross-validation: the median
    /// of the folds' chosen numbers (the upper one of the middle two for an even count); null when no fold stopped early.</summary>
    public static int? ChosenTrees(CrossValidationResult cv)
    {
        var trees = cv.Folds.Where(f => f.Trees is not null).Select(f => f.Trees!.Value).Order().ToArray();
        return trees.Length == 0 ? null : trees[trees.Length / 2];
    }

    /// <summary>The same cross-validation scored at another decision threshold (binary; other tasks are returned as they
    /// are): every fold's threshold-dependent metrics (accuracy, precision, recall, f1) are recomputed from the fold
    /// models' stored predictions, so cross-validated and held-out figures can be quoted at the same threshold.</summary>
    public static CrossValidationResult AtThreshold(CrossValidationResult cv, TrainingSet set, double threshold)
    {
        if (cv.Task != LearningTask.Binary) return cv;
        var folds = cv.Folds.Select(f => f with
        {
            Train = Score(cv.Task, Gather(set.Labels, f.TrainRowIndices), f.TrainPredictions, 2, threshold),
            Validation = Score(cv.Task, Gather(set.Labels, f.ValidationRowIndices), f.ValidationPredictions, 2, threshold),
        }).ToList();
        return cv with { Folds = folds, Validation = Summarise(folds.Select(f => f.Validation)), Train = Summarise(folds.Select(f => f.Train)) };
    }

    private static float[] Gather(float[] values, int[] rows)
    {
        var result = new float[rows.Length];
        for (var i = 0; i < rows.Length; i++) result[i] = values[rows[i]];
        return result;
    }

    /// <summary>Resampling and class weights for a training set (a training fold, or the whole training split).</summary>
    public static TrainingSet PrepareTraining(TrainingSet train, CrossValidationOptions options, int seed)
    {
        var result = options.Resampler?.Resample(train, seed) ?? train;
        return options.BalancedClassWeights ? result.WithWeights(Resamplers.BalancedWeights(result)) : result;
    }

    /// <summary>Metrics of predictions in the layout of <see cref="IFittedModel.Predict"/>.</summary>
    public static EvaluationMetrics Score(LearningTask task, ReadOnlySpan<float> labels, ReadOnlySpan<float> predictions,
        int classes, double threshold = 0.5) => task switch
    {
        LearningTask.Binary => Evaluate.Binary(labels, predictions, threshold),
        LearningTask.Multiclass => Evaluate.Multiclass(labels, predictions, classes),
        _ => Evaluate.Regression(labels, predictions),
    };

    private static Dictionary<string, MetricSummary> Summarise(IEnumerable<EvaluationMetrics> metrics)
    {
        var list = metrics.ToList();
        return list[0].Values.Keys.ToDictionary(k => k, k => MetricSummary.Of(list.Select(m => m[k]).ToList()));
    }
}
