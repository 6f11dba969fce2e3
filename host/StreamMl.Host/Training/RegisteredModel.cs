using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Training;

/// <summary>A registered version ready to score: its fitted feature pipeline, its ONNX model and its decision threshold.</summary>
public sealed class RegisteredModel : IDisposable
{
    private RegisteredModel(ModelVersion version, FeaturePipeline features, OnnxMatrixModel model)
    {
        Version = version;
        Features = features;
        Model = model;
        Task = TrainingRunner.ParseTask(version.Manifest.Task);
        if (model.FeatureCount != features.FeatureCount)
            throw new RegistryException(
                $"model '{version.Name}' version {version.Version}: model.onnx takes {model.FeatureCount} features but features.json makes {features.FeatureCount}");
    }

    /// <summary>Opens a version (its checksums verified) and loads its pipeline and model.</summary>
    public static RegisteredModel Load(ModelVersion version)
    {
        var features = FeaturePipeline.Load(version.PathOf(ModelPackage.FeaturesFile));
        var model = OnnxMatrixModel.Load(version.PathOf(ModelPackage.ModelFile));
        try { return new RegisteredModel(version, features, model); }
        catch { model.Dispose(); throw; }
    }

    /// <summary>The registry entry.</summary>
    public ModelVersion Version { get; }

    /// <summary>The fitted feature pipeline stored with the model.</summary>
    public FeaturePipeline Features { get; }

    /// <summary>The ONNX model.</summary>
    public OnnxMatrixModel Model { get; }

    /// <summary>What the model predicts.</summary>
    public LearningTask Task { get; }

    /// <summary>Decision threshold on the probability of class 1 (binary); 0.5 when none was stored.</summary>
    public double Threshold => Version.Manifest.Threshold ?? 0.5;

    /// <summary>The operators that score batches carrying the feature pipeline's output columns: the engine's
    /// <see cref="ScoringOperator"/> (ONNX Runtime over the pinned feature matrix, outputs "score", "probability", ...)
    /// followed by the decision step, which adds "decision_score" (the probability of class 1, the value, or the
    /// arg-max class's score) and "prediction" (the class after the stored threshold, the value, or the arg-max class).
    /// Dispose the result once the pipeline has stopped.</summary>
    public ScoringStages CreateScoringOperators()
    {
        var onnx = Operators.Scoring.OnnxModel.Load(Version.PathOf(ModelPackage.ModelFile), $"{Version.Name}-v{Version.Version}");
        try
        {
            var scorer = new ScoringOperator(onnx, new ScoringOptions { FeatureColumns = Features.OutputColumns });
            return new ScoringStages([scorer, new DecisionOperator(this, scorer.OutputColumns)], scorer, onnx);
        }
        catch
        {
            onnx.Dispose();
            throw;
        }
    }

    /// <summary>Scores table rows in one matrix (not streamed): the pipeline then the model.</summary>
    internal float[] PredictMatrix(DataTable table, int[] rows)
    {
        var schema = Features.Bind(table.SchemaOf(Features.Inputs.Select(f => f.Name)));
        var width = Features.FeatureCount;
        var matrix = new float[rows.Length * width];
        var written = 0;
        foreach (var batch in table.Batches(schema, rows))
        {
            using (batch) written += Features.TransformToMatrix(batch, matrix.AsSpan(written * width), selectedOnly: false);
        }
        return Model.Predict(new TrainingSet(matrix, width, new float[rows.Length], Features.FeatureNames), Task);
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();

    /// <summary>The scoring operators of a registered model, and the ONNX Runtime session they share.</summary>
    public sealed class ScoringStages(IReadOnlyList<IBatchOperator> operators, ScoringOperator scorer, Operators.Scoring.OnnxModel model) : IDisposable
    {
        /// <summary>Add these to a pipeline, in order, after the feature pipeline.</summary>
        public IReadOnlyList<IBatchOperator> Operators { get; } = operators;

        /// <summary>Frees the scorer's buffers and the model's session.</summary>
        public void Dispose()
        {
            scorer.Dispose();
            model.Dispose();
        }
    }

    /// <summary>Turns the scorer's outputs into one score and one prediction per row, applying the stored threshold.</summary>
    private sealed class DecisionOperator(RegisteredModel model, IReadOnlyList<string> scorerColumns) : IBatchOperator
    {
        private int[] _inputs = [];
        private int _score = -1;
        private int _prediction = -1;

        public string Name => "decide";

        public Schema Bind(Schema input)
        {
            string[] needed = model.Task switch
            {
                LearningTask.Binary => ["probability"],
                LearningTask.Regression => ["score"],
                _ => scorerColumns.Where(c => c.StartsWith("score_", StringComparison.Ordinal)).ToArray(),
            };
            if (needed.Length == 0) throw new SchemaMismatchException($"the scorer wrote no class scores ({string.Join(", ", scorerColumns)})");
            _inputs = needed.Select(c => input.Require(c, ColumnType.Float32)).ToArray();
            var output = input.Add(new Field("decision_score", ColumnType.Float32, false), new Field("prediction", ColumnType.Float32, false));
            _score = output.IndexOf("decision_score");
            _prediction = output.IndexOf("prediction");
            return output;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            var scores = batch.Values<float>(_score);
            var predictions = batch.Values<float>(_prediction);
            var first = batch.Values<float>(_inputs[0]);
            switch (model.Task)
            {
                case LearningTask.Binary:
                    for (var r = 0; r < batch.Length; r++)
                    {
                        scores[r] = first[r];
                        predictions[r] = Thresholds.Apply(first[r], model.Threshold);
                    }
                    break;
                case LearningTask.Regression:
                    first.CopyTo(scores);
                    first.CopyTo(predictions);
                    break;
                default:
                    for (var r = 0; r < batch.Length; r++)
                    {
                        var best = 0;
                        var bestScore = first[r];
                        for (var c = 1; c < _inputs.Length; c++)
                        {
                            var value = batch.Values<float>(_inputs[c])[r];
                            if (value > bestScore) { best = c; bestScore = value; }
                        }
                        scores[r] = bestScore;
                        predictions[r] = best;
                    }
                    break;
            }
        }
    }
}
