using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Engine;
using StreamMl.Operators.Learners;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace StreamMl.Host.Training;

/// <summary>A training run described in YAML or JSON (see docs/training.md for every key and its default).</summary>
public sealed class TrainSpec
{
    /// <summary>Model name in the registry.</summary>
    public string Name { get; set; } = "";

    /// <summary>Where the rows come from.</summary>
    public DataSpec Data { get; set; } = new();

    /// <summary>The column to predict.</summary>
    public string Target { get; set; } = "";

    /// <summary>binary, multiclass or regression (default binary).</summary>
    public string Task { get; set; } = "binary";

    /// <summary>For binary targets that are not 0/1: the value that counts as positive.</summary>
    public string? Positive { get; set; }

    /// <summary>Feature steps, in order; when empty, every column but the target and the dropped ones becomes a
    /// feature: numbers are imputed with the median when any is missing and standard-scaled, text is one-hot encoded.</summary>
    public List<FeatureStepSpec> Features { get; set; } = [];

    /// <summary>What happens to input columns that no feature step names, when <see cref="Features"/> is given: error
    /// (default: the run fails and lists them), passthrough (numbers as they are, median-imputed when a value is missing;
    /// text one-hot encoded) or drop (left out, and listed in the log).</summary>
    public string Remainder { get; set; } = "error";

    /// <summary>Trainer (see <see cref="StreamMl.Operators.Learners.MlNetLearner.Trainers"/>); default lightgbm.</summary>
    public string Trainer { get; set; } = "lightgbm";

    /// <summary>Trainer hyper-parameters.</summary>
    public HyperparameterSpec Hyperparameters { get; set; } = new();

    /// <summary>Cross-validation and held-out split.</summary>
    public ValidationSpec Validation { get; set; } = new();

    /// <summary>Resampling and class weights.</summary>
    public ImbalanceSpec Imbalance { get; set; } = new();

    /// <summary>Decision threshold tuning (binary).</summary>
    public ThresholdSpec Threshold { get; set; } = new();

    /// <summary>Acceptance gates.</summary>
    public GateSpec Gates { get; set; } = new();

    /// <summary>Registry folder and promotion policy.</summary>
    public RegistrySpec Registry { get; set; } = new();

    /// <summary>Images: fine-tune the backbone's last blocks and the head after the frozen head; null (default) for none.</summary>
    public FineTuneSpec? FineTune { get; set; }

    /// <summary>Model search instead of the fixed <see cref="Trainer"/> and <see cref="Hyperparameters"/>; null (default) for none.</summary>
    public SearchSpec? Search { get; set; }

    /// <summary>Category columns encoded inside each training fold: column → target (the smoothed mean of the target in
    /// the category; binary and regression) or frequency (the category's share of the rows). The matrix carries each
    /// column's category code; the fitted tables are part of the model and its ONNX graph. Default none.</summary>
    public Dictionary<string, string> Encode { get; set; } = [];

    /// <summary>Features computed inside the model from the pipeline's features: name → <c>a op b</c> (op one of + - * /
    /// with spaces around it; a and b feature names or numbers), e.g. <c>rooms_per_household: total_rooms / households</c>.
    /// Appended to the matrix in this order; part of the model and its ONNX graph, so the registered model takes the
    /// pipeline's matrix without them. A result that is not finite (division by zero) is NaN: missing. Default none.</summary>
    public Dictionary<string, string> Derive { get; set; } = [];

    /// <summary>Where each <see cref="Derive"/> entry's expression is in the spec text (line, column), for errors found
    /// once the features are known.</summary>
    [YamlIgnore, JsonIgnore]
    internal Dictionary<string, (int Line, int Column)> DerivePositions { get; set; } = [];

    /// <summary>The spec's file name (or "spec") for errors found once the data is read.</summary>
    [YamlIgnore, JsonIgnore]
    internal string Source { get; set; } = "spec";

    /// <summary>Threads each LightGBM fit may use. Default null: LightGBM's
    /// own default, every core; 1 makes runs comparable with single-threaded tools.</summary>
    public int? Threads { get; set; }

    /// <summary>Cross-validation folds fitted at the same time: auto (default: as many as the cores hold with
    /// <see cref="Threads"/> threads per fit, so 1 when threads is left out) or a number. Results do not depend on it.</summary>
    public string CvParallel { get; set; } = "auto";

    /// <summary>The folds to fit at once for <see cref="CvParallel"/> (on this machine, for auto).</summary>
    public int ParallelFolds() => CvParallel.Equals("auto", StringComparison.OrdinalIgnoreCase)
        ? CrossValidator.AutoParallelFolds(Threads, Validation.Folds * Math.Max(1, Validation.Repeats))
        : int.Parse(CvParallel, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Images: the head trained on the embeddings (<c>head: { kind: mlp, hidden: 256 }</c>); null (default) for
    /// the linear softmax head of <see cref="Trainer"/>.</summary>
    public HeadSpec? Head { get; set; }

    /// <summary>The folder relative paths in the spec are resolved against (the spec file's folder).</summary>
    [YamlIgnore, JsonIgnore]
    public string BaseDirectory { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>Reads a spec file: YAML (.yaml, .yml) or JSON (.json). Unknown keys are errors, so a typo does not
    /// silently fall back to a default.</summary>
    public static TrainSpec Load(string path)
    {
        if (!File.Exists(path)) throw new StreamMlException($"spec file {path} does not exist");
        var text = File.ReadAllText(path);
        var spec = Parse(text, Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase), path);
        spec.BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return spec;
    }

    /// <summary>Parses spec text (YAML is a superset of JSON, but JSON gets System.Text.Json's clearer errors).</summary>
    public static TrainSpec Parse(string text, bool json, string source = "spec")
    {
        // The same size and nesting limits as pipeline specs, checked on the parser's events before a reader builds
        // anything (TrainSpecLimitTests): the typed readers stop at the first node they cannot map, but they recurse per
        // level and said what went wrong in .NET's words ("No node deserializer ... streamml, Version=1...").
        var limits = new Specs.SpecErrors();
        if (!Specs.SpecNode.WithinLimits(text, limits))
        {
            var e = limits.All[0];
            throw new StreamMlException($"{source} line {e.Line}, column {e.Column}: {e.Message}");
        }
        TrainSpec spec;
        try
        {
            if (json)
            {
                spec = JsonSerializer.Deserialize<TrainSpec>(text, new JsonSerializerOptions
                {
                    PropertyNameCaseInsensitive = true,
                    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
                    ReadCommentHandling = JsonCommentHandling.Skip,
                }) ?? throw new StreamMlException($"{source} is empty");
            }
            else
            {
                spec = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build()
                    .Deserialize<TrainSpec>(text) ?? throw new StreamMlException($"{source} is empty");
            }
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new StreamMlException($"{source} line {e.Start.Line}, column {e.Start.Column}: {SpecErrors.Explain(e)}", e);
        }
        catch (JsonException e)
        {
            throw new StreamMlException($"{source} line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}: {SpecErrors.Explain(e)}", e);
        }
        spec.Source = source;
        if (spec.Derive.Count > 0) spec.DerivePositions = PositionsOf(text, "derive", spec.Derive.Keys);
        spec.Check(source);
        return spec;
    }

    // Line and column of each named entry of a top-level mapping (the typed readers keep no positions).
    private static Dictionary<string, (int Line, int Column)> PositionsOf(string text, string section, IEnumerable<string> keys)
    {
        var positions = new Dictionary<string, (int Line, int Column)>(StringComparer.Ordinal);
        if (Specs.SpecNode.Parse(text, new Specs.SpecErrors())?.Child(section) is not { IsMapping: true } node) return positions;
        foreach (var key in keys)
            if (node.Child(key) is { } entry) positions[key] = (entry.Line, entry.Column);
        return positions;
    }

    /// <summary>Where derived feature <paramref name="name"/> is written: "file line L, column C", or the file name.</summary>
    internal string WhereDerive(string name, string? source = null) =>
        DerivePositions.TryGetValue(name, out var at) ? $"{source ?? Source} line {at.Line}, column {at.Column}" : source ?? Source;

    /// <summary>Checks what can be checked without the data.</summary>
    public void Check(string source = "spec")
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new StreamMlException($"{source}: 'name' (the model name) is required");
        if (Data.Kind is not ("table" or "images")) throw new StreamMlException($"{source}: data.kind '{Data.Kind}' is not table or images");
        if (string.IsNullOrWhiteSpace(Target) && Data.Kind != "images") throw new StreamMlException($"{source}: 'target' (the column to predict) is required");
        if (string.IsNullOrWhiteSpace(Data.Path)) throw new StreamMlException($"{source}: 'data.path' is required");
        if (Task is not ("binary" or "multiclass" or "regression"))
            throw new StreamMlException($"{source}: task '{Task}' is not binary, multiclass or regression");
        if (Validation.Folds < 2) throw new StreamMlException($"{source}: validation.folds must be at least 2");
        if (Validation.Holdout is <= 0 or >= 1) throw new StreamMlException($"{source}: validation.holdout must be between 0 and 1");
        if (Registry.Promote is not ("auto" or "never" or "always"))
            throw new StreamMlException($"{source}: registry.promote '{Registry.Promote}' is not auto, never or always");
        // Everything that names a choice is checked here, before the data is read: a typo in the trainer should not
        // cost a read of the whole file first.
        var task = TrainingRunner.ParseTask(Task);
        var trainers = MlNetLearner.Trainers[task];
        if (!trainers.Contains(Trainer.ToLowerInvariant()))
            throw new StreamMlException($"{source}: trainer '{Trainer}' does not do {Task}; use one of: {string.Join(", ", trainers)}");
        if (Remainder is not ("error" or "passthrough" or "drop"))
            throw new StreamMlException($"{source}: remainder '{Remainder}' is not error, passthrough or drop");
        if (Imbalance.Resample.ToLowerInvariant() is not ("none" or "" or "oversample" or "undersample" or "smote" or "random-oversample" or "random-undersample"))
            throw new StreamMlException($"{source}: imbalance.resample '{Imbalance.Resample}' is not none, oversample, undersample or smote");
        if (Imbalance.ClassWeights is not ("none" or "" or "balanced"))
            throw new StreamMlException($"{source}: imbalance.classWeights '{Imbalance.ClassWeights}' is not none or balanced");
        if (Threshold.Objective.ToLowerInvariant() is not ("fixed" or "maxf1" or "f1" or "precision" or "recall"))
            throw new StreamMlException($"{source}: threshold.objective '{Threshold.Objective}' is not fixed, maxF1, precision or recall");
        if (Gates.Metric is { } metric && !MetricNames.For(task).Contains(metric))
            throw new StreamMlException($"{source}: gates.metric '{metric}' is not a {Task} metric; use one of: {string.Join(", ", MetricNames.For(task))}");
        if (Search is { } search)
        {
            if (search.BudgetSeconds() is not > 0)
                throw new StreamMlException($"{source}: search.budget '{search.Budget}' is not a duration such as 90s, 2m or 1h");
            if (search.Metric is { } searchMetric && !MetricNames.For(task).Contains(searchMetric))
                throw new StreamMlException($"{source}: search.metric '{searchMetric}' is not a {Task} metric; use one of: {string.Join(", ", MetricNames.For(task))}");
            foreach (var trainer in search.Trainers)
            {
                if (!trainers.Contains(trainer.ToLowerInvariant()))
                    throw new StreamMlException($"{source}: search trainer '{trainer}' does not do {Task}; use one of: {string.Join(", ", trainers)}");
            }
            if (search.Candidates < 2) throw new StreamMlException($"{source}: search.candidates must be at least 2");
            search.Ensemble?.Check(source, Task);
        }
        foreach (var (column, kind) in Encode)
        {
            if (kind is not ("target" or "frequency"))
                throw new StreamMlException($"{source}: encode.{column} '{kind}' is not target or frequency");
            if (kind == "target" && task == LearningTask.Multiclass)
                throw new StreamMlException($"{source}: encode.{column}: target encoding needs a binary or regression target; use frequency");
        }
        foreach (var (name, expression) in Derive)
        {
            if (Data.Kind == "images") throw new StreamMlException($"{WhereDerive(name, source)}: derive applies to table data, not images");
            try { Operators.Features.DerivedFeature.Parse(name, expression); }
            catch (Operators.Features.FeaturePipelineException e) { throw new StreamMlException($"{WhereDerive(name, source)}: derive.{name}: {e.Message}"); }
        }
        if (!CvParallel.Equals("auto", StringComparison.OrdinalIgnoreCase)
            && !(int.TryParse(CvParallel, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parallel) && parallel >= 1))
            throw new StreamMlException($"{source}: cvParallel '{CvParallel}' is not auto or a number of folds (1 or more)");
        Head?.Check(source, Data.Kind);
        if (Head is not null && FineTune is not null)
            throw new StreamMlException($"{source}: fineTune trains its own linear head on the tuned blocks; leave out head: (the MLP head) or fineTune:");
        if (Threads is < 1) throw new StreamMlException($"{source}: threads must be 1 or more (or left out for every core)");
        if (Hyperparameters.EarlyStopping is < 1) throw new StreamMlException($"{source}: hyperparameters.earlyStopping must be 1 or more rounds");
        if (Hyperparameters.ValidationFraction is <= 0 or >= 1) throw new StreamMlException($"{source}: hyperparameters.validationFraction must be between 0 and 1");
        if (Hyperparameters.L1 is < 0) throw new StreamMlException($"{source}: hyperparameters.l1 must be 0 or more");
        if (Hyperparameters.FeatureFraction is <= 0 or > 1) throw new StreamMlException($"{source}: hyperparameters.featureFraction must be in (0, 1]");
        if (Gates.ChampionStdErrors < 0) throw new StreamMlException($"{source}: gates.championStdErrors must be 0 or more");
        for (var i = 0; i < Features.Count; i++)
        {
            var step = Features[i];
            if (!FeatureStepSpec.Steps.Contains(step.Step.ToLowerInvariant()))
                throw new StreamMlException($"{source}: features[{i}]: step '{step.Step}' is unknown; use passthrough, impute, standardScale, minMaxScale, robustScale, log1p, clip, oneHot or hash");
            if (step.Columns.Count == 0) throw new StreamMlException($"{source}: features[{i}]: step '{step.Step}' names no columns");
            if (step.Step.Equals("impute", StringComparison.OrdinalIgnoreCase) && step.Strategy is { } strategy
                && strategy.ToLowerInvariant() is not ("mean" or "median" or "constant"))
                throw new StreamMlException($"{source}: features[{i}]: impute strategy '{strategy}' is not mean, median or constant");
        }
    }

    /// <summary>The spec as JSON (camelCase keys, paths resolved), as the registry keeps it with each version.</summary>
    public string ToJson()
    {
        var copy = (TrainSpec)MemberwiseClone();
        copy.Data = new DataSpec
        {
            Kind = Data.Kind, Path = Resolve(Data.Path), Drop = Data.Drop, Limit = Data.Limit,
            Test = Data.Test is null ? null : Resolve(Data.Test), Cache = Data.Cache is null ? null : Resolve(Data.Cache),
        };
        return JsonSerializer.Serialize(copy, s_specJson);
    }

    private static readonly JsonSerializerOptions s_specJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>A path of the spec resolved against <see cref="BaseDirectory"/>.</summary>
    public string Resolve(string path) => Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(BaseDirectory, path));
}

/// <summary>The data of a training run.</summary>
public sealed class DataSpec
{
    /// <summary>table (default: a CSV file) or images (a folder whose sub-folders are the classes; see docs/images.md).</summary>
    public string Kind { get; set; } = "table";

    /// <summary>A CSV file (header row, comma separated, RFC 4180 quotes), or the image folder.</summary>
    public string Path { get; set; } = "";

    /// <summary>Images: a separate folder of held-out images (same class folders); when unset, validation.holdout of
    /// each class is held out (seeded).</summary>
    public string? Test { get; set; }

    /// <summary>Images: the Parquet file caching embeddings by content hash (default: .cache/image-embeddings-resnet18.parquet
    /// in the registry folder).</summary>
    public string? Cache { get; set; }

    /// <summary>Columns that are not features (row ids).</summary>
    public List<string> Drop { get; set; } = [];

    /// <summary>Read only the first rows (for quick runs and CI); 0 reads everything.</summary>
    public int Limit { get; set; }
}

/// <summary>One feature step: <c>step</c> is passthrough, impute, standardScale, minMaxScale, robustScale, log1p, clip,
/// oneHot or hash.</summary>
public sealed class FeatureStepSpec
{
    /// <summary>The step kinds, lower case.</summary>
    internal static readonly string[] Steps = ["passthrough", "impute", "standardscale", "minmaxscale", "robustscale", "log1p", "clip", "onehot", "hash"];

    /// <summary>The step kind.</summary>
    public string Step { get; set; } = "";

    /// <summary>The columns (or a single column) it applies to.</summary>
    public List<string> Columns { get; set; } = [];

    /// <summary>Impute: mean, median or constant.</summary>
    public string? Strategy { get; set; }

    /// <summary>Impute constant value; clip minimum.</summary>
    public float? Value { get; set; }

    /// <summary>Clip maximum.</summary>
    public float? Max { get; set; }

    /// <summary>One-hot: most categories kept; hash: buckets.</summary>
    public int? Size { get; set; }
}

/// <summary>Trainer hyper-parameters (unset: the trainer's default).</summary>
public sealed class HyperparameterSpec
{
    /// <summary>Trees or boosting iterations.</summary>
    public int? Trees { get; set; }
    /// <summary>Leaves per tree.</summary>
    public int? Leaves { get; set; }
    /// <summary>Boosting learning rate.</summary>
    public double? LearningRate { get; set; }
    /// <summary>Minimum rows per leaf.</summary>
    public int? MinLeaf { get; set; }
    /// <summary>L2 regularisation of linear trainers.</summary>
    public float? L2 { get; set; }
    /// <summary>SDCA iterations.</summary>
    public int? Iterations { get; set; }
    /// <summary>LightGBM: share of the features each tree may use (default 1).</summary>
    public double? FeatureFraction { get; set; }
    /// <summary>LightGBM early stopping: rounds without improvement of the loss on an inner validation split of each
    /// training fold (a share <see cref="ValidationFraction"/>) after which boosting stops; <see cref="Trees"/> is then the
    /// most trees. The final model gets the median of the folds' chosen numbers. Default null: off.</summary>
    public int? EarlyStopping { get; set; }
    /// <summary>Share of each training fold held out for early stopping (default 0.1).</summary>
    public double? ValidationFraction { get; set; }
    /// <summary>L1 regularisation of lr (default 1, ML.NET's; 0 for L2 only, as scikit-learn).</summary>
    public float? L1 { get; set; }
    /// <summary>Linear trainers: scale every feature column by its standard deviation first (default true); false fits on
    /// the features as the pipeline made them (one-hot indicators stay 0/1).</summary>
    public bool? Normalize { get; set; }
}

/// <summary>How the model is validated.</summary>
public sealed class ValidationSpec
{
    /// <summary>k of k-fold (default 5): stratified for classification, shuffled for regression.</summary>
    public int Folds { get; set; } = 5;
    /// <summary>Repeats of the k-fold with seeds seed, seed+1, ... (default 1).</summary>
    public int Repeats { get; set; } = 1;
    /// <summary>Seed (default 42).</summary>
    public int Seed { get; set; } = 42;
    /// <summary>Share of rows held out (stratified) for the final model's test, the train–test gap and the champion
    /// comparison (default 0.2).</summary>
    public double Holdout { get; set; } = 0.2;
}

/// <summary>Imbalanced data handling (classification).</summary>
public sealed class ImbalanceSpec
{
    /// <summary>none, oversample, undersample or smote (default none).</summary>
    public string Resample { get; set; } = "none";
    /// <summary>Neighbours of SMOTE (default 5).</summary>
    public int Neighbours { get; set; } = 5;
    /// <summary>none or balanced (default none).</summary>
    public string ClassWeights { get; set; } = "none";
}

/// <summary>How the binary decision threshold is chosen (on out-of-fold scores).</summary>
public sealed class ThresholdSpec
{
    /// <summary>fixed (0.5), maxF1, precision or recall (default maxF1).</summary>
    public string Objective { get; set; } = "maxF1";
    /// <summary>The precision or recall to reach.</summary>
    public double Target { get; set; }
}

/// <summary>Acceptance gates.</summary>
public sealed class GateSpec
{
    /// <summary>Metric the gates use (default roc_auc, f1, rmse by task).</summary>
    public string? Metric { get; set; }
    /// <summary>Cross-validated score the model must reach (a ceiling for error metrics).</summary>
    public double? MinScore { get; set; }
    /// <summary>Largest allowed |train − held-out|.</summary>
    public double? MaxGap { get; set; }
    /// <summary>Champion/challenger: when a production version exists, its training recipe is cross-validated on the
    /// same folds as this one and the mean per-fold improvement must be greater than this margin (default 0: strictly
    /// better); null turns the gate off.</summary>
    public double? ChampionMargin { get; set; } = 0;

    /// <summary>...and greater than this many standard errors of the per-fold improvements (default 1; 0: the margin
    /// alone decides).</summary>
    public double ChampionStdErrors { get; set; } = 1;
}

/// <summary>Time-budgeted model search (StreamMl.Operators.Search.ModelSearch) over trainers and hyper-parameters, on
/// the validation folds.</summary>
public sealed class SearchSpec
{
    /// <summary>Wall time of the search: 90s, 2m, 1h or a number of seconds (default 2m). Cross-validating the chosen
    /// model again, the final fit, export and registration come after it.</summary>
    public string Budget { get; set; } = "2m";
    /// <summary>Metric that ranks candidates (default: the gate metric's default, roc_auc, f1 or rmse by task).</summary>
    public string? Metric { get; set; }
    /// <summary>Trainers to try (default: every trainer of the task).</summary>
    public List<string> Trainers { get; set; } = [];
    /// <summary>Seed of the random candidates (default 1).</summary>
    public int Seed { get; set; } = 1;
    /// <summary>Candidates per successive-halving bracket (default 9).</summary>
    public int Candidates { get; set; } = 9;
    /// <summary>Combine the best trials into one model instead of keeping the best one (default null: the best one).</summary>
    public EnsembleSpec? Ensemble { get; set; }

    /// <summary>The budget in seconds, or null when it does not parse.</summary>
    public double? BudgetSeconds()
    {
        var text = Budget.Trim().ToLowerInvariant();
        var scale = text.EndsWith('h') ? 3600 : text.EndsWith('m') ? 60 : 1;
        if (text.EndsWith('h') || text.EndsWith('m') || text.EndsWith('s')) text = text[..^1];
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value * scale : null;
    }
}

/// <summary>Where the model goes.</summary>
public sealed class RegistrySpec
{
    /// <summary>Registry folder (default "models", relative to the spec file).</summary>
    public string Path { get; set; } = "models";
    /// <summary>auto (promote when every gate passes), never, always (default auto).</summary>
    public string Promote { get; set; } = "auto";
}
