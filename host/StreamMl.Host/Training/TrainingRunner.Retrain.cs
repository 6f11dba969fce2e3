using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Retraining;

namespace StreamMl.Host.Training;

public static partial class TrainingRunner
{
    /// <summary>Retrains <paramref name="production"/>'s recipe (its stored training spec: feature steps, trainer and
    /// hyper-parameters) on <paramref name="table"/>, whose first <paramref name="windowRows"/> rows are the recent window
    /// and the rest reference rows, and compares it with the production model as it is with <see cref="RetrainGate"/>
    /// (same folds and held-out rows of the window). Returns the comparison and, when the challenger won, its package
    /// with lineage (parent, trigger, window, spec hash); nothing is registered here. Imbalance handling, threshold
    /// tuning and model search are not rerun: the threshold is the production version's.</summary>
    internal static RetrainCandidate Retrain(ModelVersion production, DataTable table, int windowRows, RetrainRequest request,
        CancellationToken cancellationToken)
    {
        if (production.Manifest.Spec is not { } stored)
            throw new StreamMlException($"model '{production.Name}' version {production.Version} keeps no training spec: its recipe cannot be retrained");
        var spec = TrainSpec.Parse(stored.GetRawText(), json: true, $"the training spec of {production.Name} version {production.Version}");
        var task = ParseTask(spec.Task);
        if (task == LearningTask.Multiclass) throw new StreamMlException("retraining supports binary classifiers and regressors; this model is multiclass");
        var target = table.Require(spec.Target, "target");
        if (!target.IsNumeric) throw new StreamMlException($"retrain label '{spec.Target}' must be numeric (0 or 1 for a binary model)");
        var labels = target.Numbers!.Select(v => (float)v).ToArray();
        var inputs = table.Columns.Select(c => c.Name).Where(n => n != spec.Target).ToList();
        var recipe = new RetrainRecipe(spec, task, table, inputs);
        var window = Placeholder(labels, 0, windowRows);
        var reference = windowRows < table.Rows ? Placeholder(labels, windowRows, table.Rows - windowRows) : null;
        using var champion = RegisteredModel.Load(production);
        var (gate, fitted) = RetrainGate.Run(recipe, window, reference, rows => champion.PredictMatrix(table, rows.RowIds), request.Gate, cancellationToken);
        if (!gate.Passed) return new RetrainCandidate(gate, null);
        var final = (RetrainedModel)fitted;
        return new RetrainCandidate(gate, Package(production, spec, table, inputs, final, gate, request));
    }

    private static ModelPackage Package(ModelVersion production, TrainSpec spec, DataTable table, List<string> inputs, RetrainedModel final,
        RetrainGateResult gate, RetrainRequest request)
    {
        byte[] onnx;
        using (var stream = new MemoryStream())
        {
            final.ExportOnnx(stream);
            onnx = stream.ToArray();
        }
        var profile = new ReferenceProfileBuilder();
        _ = ToSet(table, final.Pipeline, final.Bound, final.Rows, new float[final.Rows.Length], profile);
        var specJson = production.Manifest.Spec!.Value.GetRawText();
        var decision = new ChampionDecision
        {
            ProductionVersion = production.Version,
            Metric = gate.Metric,
            Basis = "retrain: the same folds and held-out rows of the recent window",
            Folds = gate.Folds.Improvements.Count,
            ChallengerMean = gate.Folds.Challenger.Average(),
            ChampionMean = gate.Folds.Champion.Average(),
            FoldImprovements = gate.Folds.Improvements,
            MeanImprovement = gate.Folds.MeanImprovement,
            StdDevImprovement = gate.Folds.StdDevImprovement,
            StandardError = gate.Folds.StandardError,
            Margin = gate.Margin,
            StdErrors = gate.StdErrors,
            Passed = gate.Passed,
        };
        var package = new ModelPackage
        {
            Manifest = new ModelManifest
            {
                Task = production.Manifest.Task,
                Trainer = spec.Trainer,
                Target = spec.Target,
                Threshold = production.Manifest.Threshold,
                Parent = production.Version,
                Hyperparameters = production.Manifest.Hyperparameters,
                Spec = production.Manifest.Spec,
                Champion = decision,
                Retrain = new RetrainLineage
                {
                    Trigger = request.Trigger,
                    TriggeredUtc = request.TriggeredAt,
                    DataWindow = request.DataWindow + (gate.ReferenceRows > 0 ? $" + {gate.ReferenceRows} reference rows" : ""),
                    SpecSha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(specJson))),
                },
                Data = new DataFingerprint
                {
                    Source = request.DataWindow,
                    Rows = table.Rows,
                    Columns = [.. inputs, spec.Target],
                    Sha256 = table.Fingerprint([.. inputs, spec.Target]),
                },
                Headline = new Dictionary<string, double>
                {
                    ["holdout_" + gate.Metric] = gate.HeldOutChallenger,
                    ["champion_holdout_" + gate.Metric] = gate.HeldOutChampion,
                    ["cv_" + gate.Metric] = gate.Folds.Challenger.Average(),
                },
            },
        };
        package.Add(ModelPackage.ModelFile, onnx);
        package.Add(ModelPackage.FeaturesFile, final.Pipeline.ToJson());
        package.Add(ModelPackage.SchemaFile, JsonSerializer.Serialize(new
        {
            inputs = final.Pipeline.Inputs.Select(f => new { name = f.Name, type = ColumnTypes.Name(f.Type), nullable = f.Nullable }),
            features = final.Pipeline.FeatureNames,
            target = spec.Target,
            task = production.Manifest.Task,
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.MetricsFile, JsonSerializer.Serialize(new
        {
            retrain = new
            {
                metric = gate.Metric,
                foldsChallenger = gate.Folds.Challenger,
                foldsChampion = gate.Folds.Champion,
                heldOutChallenger = gate.HeldOutChallenger,
                heldOutChampion = gate.HeldOutChampion,
                heldOutRows = gate.HeldOutRows,
                windowRows = gate.WindowRows,
                referenceRows = gate.ReferenceRows,
                summary = gate.Summary,
            },
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.ProfileFile, profile.Build().ToJson());
        package.Add(ModelPackage.SpecFile, specJson);
        return package;
    }

    /// <summary>Rows <paramref name="first"/>.. of the table as a set whose only "feature" is unused: the recipe reads the
    /// rows themselves from the table by id.</summary>
    private static TrainingSet Placeholder(float[] labels, int first, int count) =>
        new(new float[count], 1, labels[first..(first + count)], rowIds: Enumerable.Range(first, count).ToArray());

    /// <summary>The stored recipe as a learner over table rows: each fit builds and fits the feature pipeline on the rows
    /// given, then the trainer.</summary>
    private sealed class RetrainRecipe(TrainSpec spec, LearningTask task, DataTable table, List<string> inputs) : ILearner
    {
        public LearningTask Task => task;

        public IFittedModel Fit(TrainingSet set)
        {
            var rows = set.RowIds;
            var pipeline = BuildFeatures(spec, table, inputs, NullProgress.Instance);
            var inputSchema = table.SchemaOf(inputs);
            pipeline.Fit(table.Batches(inputSchema, rows));
            var bound = pipeline.Bind(inputSchema);
            var model = new MlNetLearner(task, LearnerFor(spec, task, null)).Fit(ToSet(table, pipeline, bound, rows, set.Labels, null));
            return new RetrainedModel(table, pipeline, bound, rows, model);
        }
    }

    /// <summary>A fitted recipe: predicts table rows (by id) through its own pipeline.</summary>
    private sealed class RetrainedModel(DataTable table, FeaturePipeline pipeline, Schema bound, int[] rows, IFittedModel model) : IFittedModel
    {
        public FeaturePipeline Pipeline => pipeline;

        public Schema Bound => bound;

        public int[] Rows => rows;

        public LearningTask Task => model.Task;

        public int Classes => model.Classes;

        public float[] Predict(TrainingSet set) => model.Predict(ToSet(table, pipeline, bound, set.RowIds, set.Labels, null));

        public void ExportOnnx(Stream stream) => model.ExportOnnx(stream);
    }
}
