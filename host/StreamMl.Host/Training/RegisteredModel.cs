using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;

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

    /// <summary>An operator that scores batches carrying the feature pipeline's output columns: adds "score" (the
    /// probability of class 1, or the value) and "prediction" (the class after the threshold, or the value).
    /// Multiclass models write the arg-max class and its probability.</summary>
    public IBatchOperator CreateScoringOperator() => new ScoringOperator(this);

    /// <summary>Scores table rows in one matrix (not streamed): the pipeline then the model.</summary>
    internal float[] PredictMatrix(DataTable table, int[] rows, out TrainingSet set)
    {
        var schema = Features.Bind(table.SchemaOf(Features.Inputs.Select(f => f.Name)));
        var width = Features.FeatureCount;
        var matrix = new float[rows.Length * width];
        var written = 0;
        foreach (var batch in table.Batches(schema, rows))
        {
            using (batch) written += Features.TransformToMatrix(batch, matrix.AsSpan(written * width), selectedOnly: false);
        }
        set = new TrainingSet(matrix, width, new float[rows.Length], Features.FeatureNames);
        return Model.Predict(set, Task);
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();

    /// <summary>Scores the feature columns of each batch with the ONNX model. Allocates per batch (the matrix is pooled,
    /// ONNX Runtime's outputs are not); the zero-allocation serving path binds its buffers once (Scoring/).</summary>
    private sealed class ScoringOperator(RegisteredModel model) : IBatchOperator
    {
        private int[] _featureColumns = [];
        private int _score = -1;
        private int _prediction = -1;
        private float[] _matrix = [];

        public string Name => $"score-{model.Version.Name}-v{model.Version.Version}";

        public Schema Bind(Schema input)
        {
            _featureColumns = model.Features.OutputColumns.Select(c => input.Require(c, ColumnType.Float32)).ToArray();
            var output = input.Add(new Field("score", ColumnType.Float32, false), new Field("prediction", ColumnType.Float32, false));
            _score = output.IndexOf("score");
            _prediction = output.IndexOf("prediction");
            return output;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            var rows = batch.Length;
            if (rows == 0) return;
            var width = _featureColumns.Length;
            if (_matrix.Length < batch.Capacity * width) _matrix = new float[batch.Capacity * width];
            for (var f = 0; f < width; f++)
            {
                var column = batch.Values<float>(_featureColumns[f]);
                for (var r = 0; r < rows; r++) _matrix[r * width + f] = column[r];
            }
            var input = _matrix.AsSpan(0, rows * width).ToArray();
            var scores = batch[_score].Values<float>();
            var predictions = batch[_prediction].Values<float>();
            switch (model.Task)
            {
                case LearningTask.Binary:
                    var probabilities = model.Model.Run(input, rows, "Probability");
                    for (var r = 0; r < rows; r++)
                    {
                        scores[r] = probabilities[r];
                        predictions[r] = Thresholds.Apply(probabilities[r], model.Threshold);
                    }
                    break;
                case LearningTask.Regression:
                    var values = model.Model.Run(input, rows, "Score");
                    for (var r = 0; r < rows; r++) scores[r] = predictions[r] = values[r];
                    break;
                default:
                    var all = model.Model.Run(input, rows, "Score");
                    var classes = all.Length / rows;
                    for (var r = 0; r < rows; r++)
                    {
                        var row = all.AsSpan(r * classes, classes);
                        var best = 0;
                        for (var c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
                        scores[r] = row[best];
                        predictions[r] = best;
                    }
                    break;
            }
        }
    }
}
