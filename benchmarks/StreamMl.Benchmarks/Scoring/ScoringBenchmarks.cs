using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;
using StreamMl.Benchmarks.Features;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Scoring;

/// <summary>Scoring one 4096-row batch of 32 features with an ML.NET model exported to ONNX: raw ONNX Runtime
/// RunWithBinding on a prebuilt tensor (the floor: no gather, no output copy), the engine's scorer on a batch whose
/// feature columns are already computed, the scorer plus the feature pipeline, and ML.NET's PredictionEngine called
/// row by row on the same rows. One operation = one batch of 4096 rows.</summary>
[MemoryDiagnoser]
public unsafe class ScoringBenchmarks
{
    private const int Rows = ColumnBatch.DefaultCapacity;
    private const int Features = 32;

    [Params("lr", "lr-columns", "lightgbm")]
    public string Model { get; set; } = "lr";

    private ColumnBatch _batch = null!;
    private FeaturePipeline _features = null!;
    private ScoringOperator _scorer = null!;
    private OnnxModel _model = null!;
    private InferenceSession _rawSession = null!;
    private OrtIoBinding _rawBinding = null!;
    private RunOptions _rawRunOptions = null!;
    private readonly List<OrtValue> _rawValues = [];
    private float[] _rawInput = [];
    private float[] _rawScore = [];
    private float[] _rawProbability = [];
    private bool[] _rawLabel = [];
    private bool[] _rawLabelInput = [];
    private PredictionEngine<Row, Prediction> _engine = null!;
    private IntPtr[] _featurePointers = [];
    private float[] _gathered = [];
    private Row[] _rows = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var schema = new Schema(Enumerable.Range(0, Features).Select(c => new Field($"x{c}", ColumnType.Float32)));
        using var training = new ColumnBatch(schema, 20_000);
        var labels = new bool[training.Capacity];
        for (var r = 0; r < training.Capacity; r++)
        {
            double z = 0;
            for (var c = 0; c < Features; c++)
            {
                var v = (float)(random.NextDouble() * 10 - 5 + c);
                training[c].Values<float>()[r] = v;
                z += (c % 3 - 1) * (v - c) * 0.3;
            }
            labels[r] = z + random.NextDouble() * 2 - 1 > 0;
        }
        training.Length = training.Capacity;
        var names = Enumerable.Range(0, Features).Select(c => $"x{c}").ToArray();
        _features = FeaturePipeline.Create().StandardScale(names).Build().Fit([training]);
        var servingSchema = _features.Bind(schema);
        _batch = new ColumnBatch(servingSchema, Rows);

        var width = _features.FeatureCount;
        var trainingSchema = _features.Bind(schema);
        using var trainingBatch = new ColumnBatch(trainingSchema, training.Capacity);
        for (var r = 0; r < training.Length; r++)
            for (var c = 0; c < Features; c++) trainingBatch[c].CopyRow(training[c], r, r);
        trainingBatch.Length = training.Length;
        var matrix = new float[training.Length * width];
        _features.TransformToMatrix(trainingBatch, matrix);
        _rows = Enumerable.Range(0, training.Length).Select(r => new Row { Features = matrix.AsSpan(r * width, width).ToArray(), Label = labels[r] }).ToArray();

        var ml = new MLContext(seed: 3);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var data = ml.Data.LoadFromEnumerable(_rows, definition);
        IEstimator<ITransformer> trainer = Model.StartsWith("lr", StringComparison.Ordinal)
            ? ml.BinaryClassification.Trainers.LbfgsLogisticRegression()
            : ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: 16, numberOfIterations: 100);
        var transformer = trainer.Fit(data);
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(transformer, data, stream, "Score", "Probability", "PredictedLabel");
        var onnx = stream.ToArray();
        // PredictionEngine always scores the vector-input model (for "lr-columns" the same trainer on the same rows).
        _engine = ml.Model.CreatePredictionEngine<Row, Prediction>(transformer, inputSchemaDefinition: definition);
        var outputNames = _features.OutputColumns.ToArray();
        if (Model == "lr-columns") onnx = TrainOnColumns(ml, outputNames, matrix, labels, training.Length);

        for (var r = 0; r < Rows; r++)
            for (var c = 0; c < Features; c++) _batch[c].CopyRow(training[c], r, r);
        _batch.Length = Rows;
        _model = OnnxModel.FromBytes(onnx, Model);
        _scorer = new ScoringOperator(_model, new ScoringOptions { FeatureColumns = _features.OutputColumns });
        _batch.Dispose();
        _batch = new ColumnBatch(_scorer.Bind(servingSchema), Rows);
        for (var r = 0; r < Rows; r++)
            for (var c = 0; c < Features; c++) _batch[c].CopyRow(training[c], r, r);
        _batch.Length = Rows;
        _features.Transform(_batch);
        _scorer.Score(_batch);
        _featurePointers = _features.OutputColumns.Select(c => (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(_batch[c].Values<float>()))).ToArray();
        _gathered = new float[Rows * width];

        // The floor: a tensor laid out once, bound once, run again and again.
        // Same session options as the engine's model (one intra-op thread), so the ratio measures the engine alone.
        using (var options = OnnxModel.DefaultSessionOptions()) _rawSession = new InferenceSession(onnx, options);
        _rawRunOptions = new RunOptions();
        _rawInput = matrix.AsSpan(0, Rows * width).ToArray();
        _rawScore = new float[Rows];
        _rawProbability = new float[Rows];
        _rawLabel = new bool[Rows];
        _rawLabelInput = new bool[Rows];
        _rawBinding = _rawSession.CreateIoBinding();
        if (Model == "lr-columns")
        {
            for (var f = 0; f < width; f++)
            {
                var column = Enumerable.Range(0, Rows).Select(r => _rawInput[r * width + f]).ToArray();
                Bind(true, outputNames[f], OrtValue.CreateTensorValueFromMemory(column, [Rows, 1]));
            }
        }
        else Bind(true, "Features", OrtValue.CreateTensorValueFromMemory(_rawInput, [Rows, width]));
        Bind(true, "Label", OrtValue.CreateTensorValueFromMemory(_rawLabelInput, [Rows, 1]));
        Bind(false, "Score.output", OrtValue.CreateTensorValueFromMemory(_rawScore, [Rows, 1]));
        Bind(false, "Probability.output", OrtValue.CreateTensorValueFromMemory(_rawProbability, [Rows, 1]));
        Bind(false, "PredictedLabel.output", OrtValue.CreateTensorValueFromMemory(_rawLabel, [Rows, 1]));
    }

    /// <summary>The same logistic regression trained on one column per feature (through a CSV and TextLoader), so the
    /// exported model has one [-1, 1] input per feature and the scorer binds the batch columns in place.</summary>
    private static byte[] TrainOnColumns(MLContext ml, string[] names, float[] matrix, bool[] labels, int rows)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"streamml-bench-{Environment.ProcessId}.csv");
        try
        {
            using (var writer = new StreamWriter(csv))
            {
                writer.WriteLine(string.Join(",", names.Append("Label")));
                for (var r = 0; r < rows; r++)
                    writer.WriteLine(string.Join(",", Enumerable.Range(0, names.Length)
                        .Select(f => matrix[r * names.Length + f].ToString("R", System.Globalization.CultureInfo.InvariantCulture))
                        .Append(labels[r] ? "true" : "false")));
            }
            var columns = names.Select((n, i) => new TextLoader.Column(n, DataKind.Single, i)).Append(new TextLoader.Column("Label", DataKind.Boolean, names.Length)).ToArray();
            var data = ml.Data.Cache(ml.Data.LoadFromTextFile(csv, columns, separatorChar: ',', hasHeader: true));
            var model = ml.Transforms.Concatenate("Features", names).Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression()).Fit(data);
            using var stream = new MemoryStream();
            ml.Model.ConvertToOnnx(model, data, stream, "Score", "Probability", "PredictedLabel");
            return stream.ToArray();
        }
        finally { File.Delete(csv); }
    }

    private void Bind(bool input, string name, OrtValue value)
    {
        _rawValues.Add(value);
        if (input) _rawBinding.BindInput(name, value); else _rawBinding.BindOutput(name, value);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _scorer.Dispose();
        _model.Dispose();
        _rawBinding.Dispose();
        foreach (var v in _rawValues) v.Dispose();
        _rawSession.Dispose();
        _rawRunOptions.Dispose();
        _batch.Dispose();
        _engine.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void RawRunWithBinding() => _rawSession.RunWithBinding(_rawRunOptions, _rawBinding);

    [Benchmark]
    public void EngineScore() => _scorer.Score(_batch);

    /// <summary>The engine's own work around the model run: gathering the 32 feature columns into the row-major input
    /// matrix (the other part, copying 3 outputs of 4,096 values into batch columns, is ~1/10 of this).</summary>
    [Benchmark]
    public void GatherFeatureMatrix() => FeatureKernels.Interleave(_featurePointers, Rows, _gathered);

    [Benchmark]
    public void EngineFeaturesAndScore()
    {
        _features.Transform(_batch);
        _scorer.Score(_batch);
    }

    [Benchmark]
    public float MlNetPredictionEngineRowByRow()
    {
        var sum = 0f;
        for (var r = 0; r < Rows; r++) sum += _engine.Predict(_rows[r]).Probability;
        return sum;
    }

    public sealed class Row
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    public sealed class Prediction
    {
        public float Score { get; set; }
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
    }
}
