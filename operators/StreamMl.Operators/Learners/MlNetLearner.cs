using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>Fits a model on a <see cref="TrainingSet"/>.</summary>
public interface ILearner
{
    /// <summary>What the models predict.</summary>
    LearningTask Task { get; }

    /// <summary>Fits a model on every row of <paramref name="set"/> (weights, when present, are used).</summary>
    IFittedModel Fit(TrainingSet set);

    /// <summary>Fits a model that will only be asked to predict (a cross-validation fold, a search trial), never exported:
    /// a learner may fit it a faster way as long as it predicts what <see cref="Fit"/>'s model predicts.</summary>
    IFittedModel FitToPredict(TrainingSet set) => Fit(set);
}

/// <summary>A fitted model.</summary>
public interface IFittedModel
{
    /// <summary>What the model predicts.</summary>
    LearningTask Task { get; }

    /// <summary>Classes of a classifier (2 for binary), 1 for regression.</summary>
    int Classes { get; }

    /// <summary>Predictions for each row: the probability of class 1 (binary), the value (regression), or a row-major
    /// [rows, classes] probability matrix (multiclass).</summary>
    float[] Predict(TrainingSet set);

    /// <summary>Writes the model as ONNX whose only input is the [rows, features] float32 matrix.</summary>
    void ExportOnnx(Stream stream);

    /// <summary>Trees in the fitted ensemble when early stopping chose them; null otherwise.</summary>
    int? Trees => null;
}

/// <summary>Trainer choice and hyper-parameters; unset values take ML.NET's defaults.</summary>
public sealed record LearnerOptions
{
    /// <summary>Trainer name. Binary: lr (L-BFGS logistic regression), sdca, fasttree, fastforest, lightgbm.
    /// Multiclass: lr (L-BFGS maximum entropy), sdca, lightgbm. Regression: fasttree, fastforest, lightgbm, sdca.</summary>
    public string Trainer { get; init; } = "lightgbm";

    /// <summary>Trees (boosting iterations) of tree ensembles.</summary>
    public int? NumberOfTrees { get; init; }

    /// <summary>Leaves per tree.</summary>
    public int? NumberOfLeaves { get; init; }

    /// <summary>Learning rate of boosted trees.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Minimum rows per leaf.</summary>
    public int? MinimumExampleCountPerLeaf { get; init; }

    /// <summary>L2 regularisation of linear trainers and of LightGBM's leaf values.</summary>
    public float? L2Regularization { get; init; }

    /// <summary>L1 regularisation of the L-BFGS logistic regression (lr; default 1, ML.NET's). 0 leaves only
    /// <see cref="L2Regularization"/>, as scikit-learn's LogisticRegression.</summary>
    public float? L1Regularization { get; init; }

    /// <summary>Linear trainers (lr, sdca): put ML.NET's mean-variance normaliser in front (default true). It divides every
    /// column by its standard deviation, one-hot indicators included, so a rare category's weight is barely penalised;
    /// false fits on the features as the feature pipeline made them (numbers standard-scaled by default, indicators 0/1).</summary>
    public bool? Normalize { get; init; }

    /// <summary>LightGBM: share of the features each tree may use (default 1).</summary>
    public double? FeatureFraction { get; init; }

    /// <summary>Early stopping of the boosted trainers (lightgbm, binary and regression): when set, <see cref="ValidationFraction"/>
    /// of the rows fitted are held out (stratified for binary), up to <see cref="NumberOfTrees"/> trees are grown, and
    /// boosting stops when the validation loss has not improved for this many rounds; the model keeps the trees up to
    /// the best round. Default null: no early stopping, every tree is grown.</summary>
    public int? EarlyStoppingRounds { get; init; }

    /// <summary>Share of the rows held out for early stopping (default 0.1, as scikit-learn's HistGradientBoosting).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Threads of the trainer (lightgbm, fasttree, fastforest, lr). Default null: the trainer's default, which
    /// is every core.</summary>
    public int? Threads { get; init; }

    /// <summary>Iterations of SDCA.</summary>
    public int? MaximumIterations { get; init; }

    /// <summary>Classes of a multiclass task. Default null: the largest label in the rows fitted, plus one; set it when
    /// a training fold may miss the last class, so every model predicts the same number of classes.</summary>
    public int? Classes { get; init; }

    /// <summary>Seed of ML.NET's random numbers (default 1).</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>Trains with ML.NET 5 (plus FastTree and LightGBM). Linear trainers get a mean-variance normaliser in front
/// (unless <see cref="LearnerOptions.Normalize"/> is false), which exports to ONNX with the model, so the model's input
/// stays the raw feature matrix.</summary>
public sealed class MlNetLearner : ILearner
{
    private const string FeaturesColumn = "Features";
    private const string LabelColumn = "Label";
    private const string WeightColumn = "Weight";

    /// <summary>The trainer names per task.</summary>
    public static IReadOnlyDictionary<LearningTask, string[]> Trainers { get; } = new Dictionary<LearningTask, string[]>
    {
        [LearningTask.Binary] = ["lr", "sdca", "fasttree", "fastforest", "lightgbm"],
        [LearningTask.Multiclass] = ["lr", "sdca", "lightgbm"],
        [LearningTask.Regression] = ["fasttree", "fastforest", "lightgbm", "sdca"],
    };

    /// <summary>Creates a learner; throws a <see cref="StreamMlException"/> naming the valid trainers when the name is unknown.</summary>
    public MlNetLearner(LearningTask task, LearnerOptions? options = null)
    {
        Task = task;
        Options = options ?? new LearnerOptions();
        if (!Trainers[task].Contains(Options.Trainer.ToLowerInvariant()))
            throw new StreamMlException(
                $"trainer '{Options.Trainer}' does not do {task.ToString().ToLowerInvariant()}; use one of: {string.Join(", ", Trainers[task])}");
    }

    /// <inheritdoc/>
    public LearningTask Task { get; }

    /// <summary>Trainer and hyper-parameters.</summary>
    public LearnerOptions Options { get; }

    /// <inheritdoc/>
    public IFittedModel Fit(TrainingSet set)
    {
        if (set.Rows == 0) throw new StreamMlException("cannot train on zero rows");
        var context = new MLContext(Options.Seed);
        var classes = Task switch
        {
            LearningTask.Binary => 2,
            LearningTask.Multiclass => Math.Max(set.ClassCount(), Options.Classes ?? 0),
            _ => 1,
        };
        var weight = set.Weights is null ? null : WeightColumn;
        if (EarlyStops) return FitWithEarlyStopping(context, set, classes, weight);
        var data = ToDataView(context, set, classes, withLabel: true);
        var estimator = BuildEstimator(context, weight);
        var model = estimator.Fit(data);
        return new MlNetModel(context, model, Task, classes, set.FeatureCount);
    }

    /// <summary>LightGBM (binary, regression, no missing values) through its C API with ML.NET's parameters
    /// (<see cref="NativeLightGbm"/>: the same model without ML.NET's data views and process-wide training lock);
    /// everything else as <see cref="Fit"/>.</summary>
    public IFittedModel FitToPredict(TrainingSet set)
    {
        if (set.Rows == 0) throw new StreamMlException("cannot train on zero rows");
        return NativeLightGbm.Handles(Task, Options, set) ? NativeLightGbm.Fit(Task, Options, set, EarlyStops) : Fit(set);
    }

    /// <summary>True when <see cref="Fit"/> holds rows out and stops boosting early.</summary>
    public bool EarlyStops => Options.EarlyStoppingRounds is > 0 && Options.Trainer.Equals("lightgbm", StringComparison.OrdinalIgnoreCase)
        && Task != LearningTask.Multiclass;

    /// <summary>Fits on all but <see cref="LearnerOptions.ValidationFraction"/> of the rows (held out stratified for
    /// binary, at random for regression) and lets LightGBM stop when the held-out loss stops improving.</summary>
    private MlNetModel FitWithEarlyStopping(MLContext context, TrainingSet set, int classes, string? weight)
    {
        var (inner, holdout) = Task == LearningTask.Binary
            ? Folds.StratifiedSplit(set.Labels, Options.ValidationFraction, Options.Seed)
            : Folds.ShuffledSplit(set.Rows, Options.ValidationFraction, Options.Seed);
        var train = ToDataView(context, set.Subset(inner), classes, withLabel: true);
        var validation = ToDataView(context, set.Subset(holdout), classes, withLabel: true);
        if (Task == LearningTask.Binary)
        {
            var binary = context.BinaryClassification.Trainers.LightGbm(BinaryLightGbm(weight)).Fit(train, validation);
            return new MlNetModel(context, binary, Task, classes, set.FeatureCount)
            {
                Trees = binary.Model.SubModel.TrainedTreeEnsemble.Trees.Count,
            };
        }
        var regression = context.Regression.Trainers.LightGbm(RegressionLightGbm(weight)).Fit(train, validation);
        return new MlNetModel(context, regression, Task, classes, set.FeatureCount)
        {
            Trees = regression.Model.TrainedTreeEnsemble.Trees.Count,
        };
    }

    private LightGbmBinaryTrainer.Options BinaryLightGbm(string? weight) => new()
    {
        LabelColumnName = LabelColumn,
        FeatureColumnName = FeaturesColumn,
        ExampleWeightColumnName = weight,
        NumberOfLeaves = Options.NumberOfLeaves,
        MinimumExampleCountPerLeaf = Options.MinimumExampleCountPerLeaf,
        LearningRate = Options.LearningRate,
        NumberOfIterations = Options.NumberOfTrees ?? 100,
        EarlyStoppingRound = EarlyStops ? Options.EarlyStoppingRounds!.Value : 0,
        NumberOfThreads = Options.Threads,
        Seed = Options.Seed,
        Booster = Booster(),
    };

    private LightGbmRegressionTrainer.Options RegressionLightGbm(string? weight) => new()
    {
        LabelColumnName = LabelColumn,
        FeatureColumnName = FeaturesColumn,
        ExampleWeightColumnName = weight,
        NumberOfLeaves = Options.NumberOfLeaves,
        MinimumExampleCountPerLeaf = Options.MinimumExampleCountPerLeaf,
        LearningRate = Options.LearningRate,
        NumberOfIterations = Options.NumberOfTrees ?? 100,
        EarlyStoppingRound = EarlyStops ? Options.EarlyStoppingRounds!.Value : 0,
        NumberOfThreads = Options.Threads,
        Seed = Options.Seed,
        Booster = Booster(),
    };

    private LightGbmMulticlassTrainer.Options MulticlassLightGbm(string? weight) => new()
    {
        LabelColumnName = LabelColumn,
        FeatureColumnName = FeaturesColumn,
        ExampleWeightColumnName = weight,
        NumberOfLeaves = Options.NumberOfLeaves,
        MinimumExampleCountPerLeaf = Options.MinimumExampleCountPerLeaf,
        LearningRate = Options.LearningRate,
        NumberOfIterations = Options.NumberOfTrees ?? 100,
        NumberOfThreads = Options.Threads,
        Seed = Options.Seed,
        Booster = Booster(),
    };

    private GradientBooster.Options Booster()
    {
        var booster = new GradientBooster.Options();
        if (Options.L2Regularization is { } l2) booster.L2Regularization = l2;
        if (Options.FeatureFraction is { } fraction) booster.FeatureFraction = fraction;
        return booster;
    }

    private IEstimator<ITransformer> BuildEstimator(MLContext context, string? weight)
    {
        var o = Options;
        var trainer = o.Trainer.ToLowerInvariant();
        IEstimator<ITransformer> Normalized(IEstimator<ITransformer> t) => o.Normalize is false
            ? t
            : context.Transforms.NormalizeMeanVariance(FeaturesColumn).Append(t);
        return (Task, trainer) switch
        {
            (LearningTask.Binary, "lr") => Normalized(context.BinaryClassification.Trainers.LbfgsLogisticRegression(
                LabelColumn, FeaturesColumn, weight, l1Regularization: o.L1Regularization ?? 1f, l2Regularization: o.L2Regularization ?? 1f)),
            (LearningTask.Binary, "sdca") => Normalized(context.BinaryClassification.Trainers.SdcaLogisticRegression(
                LabelColumn, FeaturesColumn, weight, l2Regularization: o.L2Regularization, maximumNumberOfIterations: o.MaximumIterations)),
            (LearningTask.Binary, "fasttree") => context.BinaryClassification.Trainers.FastTree(
                LabelColumn, FeaturesColumn, weight, o.NumberOfLeaves ?? 20, o.NumberOfTrees ?? 100,
                o.MinimumExampleCountPerLeaf ?? 10, o.LearningRate ?? 0.2),
            // FastForest scores are not probabilities: a Platt calibrator (fitted on the training rows) makes them so.
            (LearningTask.Binary, "fastforest") => context.BinaryClassification.Trainers.FastForest(
                    LabelColumn, FeaturesColumn, weight, o.NumberOfLeaves ?? 20, o.NumberOfTrees ?? 100, o.MinimumExampleCountPerLeaf ?? 10)
                .Append(context.BinaryClassification.Calibrators.Platt(LabelColumn, "Score")),
            (LearningTask.Binary, "lightgbm") => context.BinaryClassification.Trainers.LightGbm(BinaryLightGbm(weight)),
            (LearningTask.Multiclass, "lr") => Normalized(context.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
                LabelColumn, FeaturesColumn, weight, l1Regularization: o.L1Regularization ?? 1f, l2Regularization: o.L2Regularization ?? 1f)),
            (LearningTask.Multiclass, "sdca") => Normalized(context.MulticlassClassification.Trainers.SdcaMaximumEntropy(
                LabelColumn, FeaturesColumn, weight, o.L2Regularization, maximumNumberOfIterations: o.MaximumIterations)),
            (LearningTask.Multiclass, "lightgbm") => context.MulticlassClassification.Trainers.LightGbm(MulticlassLightGbm(weight)),
            (LearningTask.Regression, "fasttree") => context.Regression.Trainers.FastTree(
                LabelColumn, FeaturesColumn, weight, o.NumberOfLeaves ?? 20, o.NumberOfTrees ?? 100,
                o.MinimumExampleCountPerLeaf ?? 10, o.LearningRate ?? 0.2),
            (LearningTask.Regression, "fastforest") => context.Regression.Trainers.FastForest(
                LabelColumn, FeaturesColumn, weight, o.NumberOfLeaves ?? 20, o.NumberOfTrees ?? 100, o.MinimumExampleCountPerLeaf ?? 10),
            (LearningTask.Regression, "lightgbm") => context.Regression.Trainers.LightGbm(RegressionLightGbm(weight)),
            (LearningTask.Regression, "sdca") => Normalized(context.Regression.Trainers.Sdca(
                LabelColumn, FeaturesColumn, weight, l2Regularization: o.L2Regularization, maximumNumberOfIterations: o.MaximumIterations)),
            _ => throw new StreamMlException($"trainer '{o.Trainer}' does not do {Task}"),
        };
    }

    /// <summary>An ML.NET view of the set: a Features vector column of the set's width, plus Label and Weight when
    /// <paramref name="withLabel"/>. Multiclass labels become 1-based keys, as ML.NET expects.</summary>
    internal static IDataView ToDataView(MLContext context, TrainingSet set, int classes, bool withLabel)
    {
        if (!withLabel)
        {
            var rows = new FeatureRow[set.Rows];
            for (var i = 0; i < rows.Length; i++) rows[i] = new FeatureRow { Features = set.Row(i).ToArray() };
            var schema = SchemaDefinition.Create(typeof(FeatureRow));
            schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, set.FeatureCount);
            return context.Data.LoadFromEnumerable(rows, schema);
        }
        if (classes > 2)
        {
            var rows = new KeyRow[set.Rows];
            for (var i = 0; i < rows.Length; i++)
                rows[i] = new KeyRow { Features = set.Row(i).ToArray(), Label = (uint)set.Labels[i], Weight = set.Weights?[i] ?? 1f };
            var schema = SchemaDefinition.Create(typeof(KeyRow));
            schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, set.FeatureCount);
            schema[LabelColumn].ColumnType = new KeyDataViewType(typeof(uint), classes);
            return context.Data.LoadFromEnumerable(rows, schema);
        }
        if (classes == 2)
        {
            var rows = new BoolRow[set.Rows];
            for (var i = 0; i < rows.Length; i++)
                rows[i] = new BoolRow { Features = set.Row(i).ToArray(), Label = set.Labels[i] > 0.5f, Weight = set.Weights?[i] ?? 1f };
            var schema = SchemaDefinition.Create(typeof(BoolRow));
            schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, set.FeatureCount);
            return context.Data.LoadFromEnumerable(rows, schema);
        }
        var regression = new FloatRow[set.Rows];
        for (var i = 0; i < regression.Length; i++)
            regression[i] = new FloatRow { Features = set.Row(i).ToArray(), Label = set.Labels[i], Weight = set.Weights?[i] ?? 1f };
        var regressionSchema = SchemaDefinition.Create(typeof(FloatRow));
        regressionSchema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, set.FeatureCount);
        return context.Data.LoadFromEnumerable(regression, regressionSchema);
    }

    // Row types for LoadFromEnumerable; public fields because ML.NET reads them by reflection.
    private sealed class FeatureRow { public float[] Features = []; }
    private sealed class BoolRow { public float[] Features = []; public bool Label; public float Weight; }
    private sealed class FloatRow { public float[] Features = []; public float Label; public float Weight; }
    private sealed class KeyRow { public float[] Features = []; public uint Label; public float Weight; }
}

/// <summary>A fitted ML.NET transformer chain.</summary>
internal sealed class MlNetModel(MLContext context, ITransformer model, LearningTask task, int classes, int featureCount) : IFittedModel
{
    public int? Trees { get; init; }

    private readonly TreeEnsembleScorer? _trees = TreeEnsembleScorer.TryCreate(model);

    public LearningTask Task { get; } = task;

    public int Classes { get; } = classes;

    /// <summary>The ML.NET transformer, for tests that compare with ML.NET's own evaluators.</summary>
    public ITransformer Transformer => model;

    public float[] Predict(TrainingSet set)
    {
        if (set.FeatureCount != featureCount)
            throw new StreamMlException($"the model takes {featureCount} features; the set has {set.FeatureCount}");
        if (_trees is not null)
        {
            var direct = new float[set.Rows];
            if (_trees.TryPredict(set, direct)) return direct;
        }
        var scored = model.Transform(MlNetLearner.ToDataView(context, set, Classes, withLabel: false));
        switch (Task)
        {
            case LearningTask.Binary:
                return scored.GetColumn<float>("Probability").ToArray();
            case LearningTask.Regression:
                return scored.GetColumn<float>("Score").ToArray();
            default:
                var output = new float[set.Rows * Classes];
                var row = 0;
                foreach (var scores in scored.GetColumn<VBuffer<float>>("Score"))
                {
                    scores.DenseValues().Take(Classes).ToArray().CopyTo(output, row * Classes);
                    row++;
                }
                return output;
        }
    }

    public void ExportOnnx(Stream stream)
    {
        var schemaSet = new TrainingSet(new float[featureCount], featureCount, [0f]);
        var input = MlNetLearner.ToDataView(context, schemaSet, Classes, withLabel: false);
        string[] outputs = Task switch
        {
            LearningTask.Binary => ["Score", "Probability", "PredictedLabel"],
            // The predicted key (uint32) is left out: the arg max of Score is the class, and the engine's scorer
            // writes float, double, bool and integer outputs only.
            LearningTask.Multiclass => ["Score"],
            _ => ["Score"],
        };
        context.Model.ConvertToOnnx(model, input, stream, outputs);
    }
}
