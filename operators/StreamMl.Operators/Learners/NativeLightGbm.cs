using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>Fits LightGBM straight from a <see cref="TrainingSet"/>'s float matrix through LightGBM's C API, with the
/// parameters ML.NET's LightGBM trainer passes (<see cref="Parameters"/>), the same rows for early stopping and the same
/// stopping rule, so the model is the one <see cref="MlNetLearner.Fit"/> makes (NativeLightGbmTests: predictions within
/// 1e-5 of ML.NET's). What it saves is ML.NET's overhead around the same native training: copying the matrix into a data
/// view of per-row arrays, reading it back twice through cursors, a process-wide lock around every LightGBM fit (so
/// folds could not train in parallel), and turning the booster into a managed tree ensemble. The model predicts but is
/// not exported: cross-validation folds and search trials use it, the final model is fitted by ML.NET.</summary>
internal static class NativeLightGbm
{
    /// <summary>ML.NET samples at most this many rows to find bin boundaries (LightGbmTrainerBase.GetNumSampleRow); up to
    /// this size both use every row, so the bins are the same.</summary>
    private const int BinSampleRows = 1 << 16;

    /// <summary>True for the tasks and data this path reproduces: lightgbm, binary or regression, no missing values
    /// (ML.NET routes a missing value through its own copy of the trees, which this path does not use).</summary>
    public static bool Handles(LearningTask task, LearnerOptions options, TrainingSet set)
    {
        if (task == LearningTask.Multiclass || !options.Trainer.Equals("lightgbm", StringComparison.OrdinalIgnoreCase)) return false;
        foreach (var value in set.Features)
        {
            if (float.IsNaN(value)) return false;
        }
        return true;
    }

    /// <summary>Fits on <paramref name="set"/> (on all but <see cref="LearnerOptions.ValidationFraction"/> of it, held out
    /// as <see cref="MlNetLearner"/> holds it out, when early stopping is on).</summary>
    public static NativeLightGbmModel Fit(LearningTask task, LearnerOptions options, TrainingSet set, bool earlyStopping)
    {
        var (train, holdout) = (set, (TrainingSet?)null);
        if (earlyStopping)
        {
            var (inner, held) = task == LearningTask.Binary
                ? Folds.StratifiedSplit(set.Labels, options.ValidationFraction, options.Seed)
                : Folds.ShuffledSplit(set.Rows, options.ValidationFraction, options.Seed);
            (train, holdout) = (set.Subset(inner), set.Subset(held));
        }
        var parameters = Parameters(task, options, train.Rows);
        using var trainData = Dataset(task, train, parameters, null);
        using var validationData = holdout is null ? null : Dataset(task, holdout, parameters, trainData);
        var booster = LightGbmNative.Booster(trainData, validationData, parameters);
        var trees = Boost(booster, options.NumberOfTrees ?? 100, earlyStopping ? options.EarlyStoppingRounds!.Value : 0);
        var predictThreads = options.Threads is { } threads ? $"num_threads={threads}" : "";
        // ML.NET's Platt calibrator for LightGBM (slope -sigmoid, offset 0), so probabilities are computed as ML.NET computes them.
        var scorer = TreeEnsembleScorer.FromLightGbmText(LightGbmNative.ModelText(booster, trees), task == LearningTask.Binary ? (-0.5, 0) : null);
        return new NativeLightGbmModel(booster, scorer, task, set.FeatureCount, trees, earlyStopping ? trees : null, predictThreads);
    }

    private static DatasetHandle Dataset(LearningTask task, TrainingSet set, string parameters, DatasetHandle? reference)
    {
        var labels = task == LearningTask.Binary ? set.Labels.Select(l => l > 0.5f ? 1f : 0f).ToArray() : set.Labels;
        var weights = set.Weights?.Select(w => float.IsNaN(w) ? 1f : w).ToArray();
        return LightGbmNative.Dataset(set.Features, set.Rows, set.FeatureCount, labels, weights, parameters, reference);
    }

    /// <summary>ML.NET's boosting loop (WrappedLightGbmTraining.Train): stop when no split helps, or when the validation
    /// loss has not improved for <paramref name="rounds"/> rounds, keeping the trees up to the best round. Returns the trees kept.</summary>
    private static int Boost(BoosterHandle booster, int iterations, int rounds)
    {
        var bestIteration = 0;
        var bestScore = double.MaxValue;
        int iteration;
        for (iteration = 0; iteration < iterations; iteration++)
        {
            if (LightGbmNative.Update(booster)) break;
            if (rounds > 0)
            {
                var loss = LightGbmNative.Eval(booster, 1);
                if (loss < bestScore)
                {
                    bestScore = loss;
                    bestIteration = iteration;
                }
                if (iteration - bestIteration >= rounds) break;
            }
        }
        return rounds > 0 && iteration != iterations ? bestIteration + 1 : LightGbmNative.Iterations(booster);
    }

    /// <summary>The parameter string ML.NET 5.0 passes to LightGBM for these options (its defaults included, in its
    /// order: LightGbmTrainerBase.OptionsBase.ToDictionary, GradientBooster.Options, the task's options, then the
    /// defaults that depend on the row count).</summary>
    public static string Parameters(LearningTask task, LearnerOptions options, int rows)
    {
        static string N(double value) => value.ToString(CultureInfo.InvariantCulture);
        var parts = new List<string>
        {
            "min_split_gain=0", "max_depth=0", "min_child_weight=0.1", "subsample_freq=0", "subsample=1",
            $"feature_fraction={N(options.FeatureFraction ?? 1)}",
            $"reg_lambda={N(options.L2Regularization is { } l2 ? l2 : 0.01)}",
            "reg_alpha=0", "boosting_type=gbdt", "verbose=-1",
        };
        if (options.Threads is { } threads) parts.Add($"nthread={threads}");
        parts.Add($"seed={options.Seed}");
        parts.AddRange(["max_bin=255", "use_missing=True", "zero_as_missing=False", "min_data_per_group=100", "max_cat_threshold=32",
            "cat_smooth=10", "cat_l2=10", "deterministic=False", "force_col_wise=False", "force_row_wise=False"]);
        parts.AddRange(task == LearningTask.Binary
            ? ["unbalanced_sets=False", "scale_pos_weight=1", "sigmoid=0.5", "metric=binary_logloss"]
            : ["metric=rmse"]);
        // ML.NET's defaults for these three depend on the rows (LightGbmTrainerBase.GetDefaultParameters).
        parts.Add($"learning_rate={N(options.LearningRate ?? (rows <= 100_000 ? 0.2 : 0.25))}");
        parts.Add($"num_leaves={options.NumberOfLeaves ?? (rows <= 100_000 ? 20 : 30)}");
        parts.Add($"min_data_per_leaf={options.MinimumExampleCountPerLeaf ?? 20}");
        parts.Add($"objective={(task == LearningTask.Binary ? "binary" : "regression")}");
        parts.Add($"bin_construct_sample_cnt={BinSampleRows}");
        return string.Join(' ', parts);
    }
}

/// <summary>A booster fitted by <see cref="NativeLightGbm"/>: predicts from its flattened trees (<see cref="TreeEnsembleScorer"/>;
/// LightGBM's own prediction makes a list of (index, value) pairs per row, ~2x slower here, and sends a missing value
/// elsewhere than ML.NET does), or through LightGBM itself when a split is categorical.</summary>
internal sealed class NativeLightGbmModel(BoosterHandle booster, TreeEnsembleScorer? scorer, LearningTask task, int featureCount, int iterations, int? chosenTrees,
    string predictParameters) : IFittedModel, IDisposable
{
    public LearningTask Task { get; } = task;

    public int Classes => Task == LearningTask.Binary ? 2 : 1;

    public int? Trees { get; } = chosenTrees;

    public float[] Predict(TrainingSet set)
    {
        if (set.FeatureCount != featureCount)
            throw new StreamMlException($"the model takes {featureCount} features; the set has {set.FeatureCount}");
        var direct = new float[set.Rows];
        // Fitted without missing values (Handles), so ML.NET's copy of these trees sends a missing value right.
        if (scorer is not null && scorer.TryPredict(set, direct, missingGoesRight: true)) return direct;
        var scores = new double[set.Rows];
        if (set.Rows > 0) LightGbmNative.Predict(booster, set.Features, set.Rows, featureCount, iterations, predictParameters, scores);
        var output = new float[set.Rows];
        for (var i = 0; i < output.Length; i++) output[i] = (float)scores[i];
        return output;
    }

    public void ExportOnnx(Stream stream) =>
        throw new StreamMlException("a model fitted to evaluate (a cross-validation fold or a search trial) is not exported; fit the learner to export");

    public void Dispose() => booster.Dispose();
}

