using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Tests.Features;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>Trains three small ML.NET binary classifiers (L-BFGS logistic regression, FastTree, LightGBM) on features of
/// the credit-default data computed by a <see cref="FeaturePipeline"/>, exports them to ONNX with the ML.NET converter,
/// and keeps the raw batches and the row-major feature matrix so tests can score the same rows by other means.
/// Built once per test run (the xunit collection fixture) because training takes a few seconds.</summary>
public sealed class CreditModels : IDisposable
{
    public const int Rows = 6000;
    private static readonly string[] s_outputNames = ["Score", "Probability", "PredictedLabel"];

    public CreditModels()
    {
        Raw = FeatureTestData.ReadCsv(FeatureTestData.CreditCsv, 4096, maxRows: Rows);
        Features = FeaturePipeline.Create("credit")
            .StandardScale("LIMIT_BAL", "AGE", "BILL_AMT1", "BILL_AMT2")
            .Log1p("PAY_AMT1", "PAY_AMT2").Clip("PAY_AMT1", 0f, 12f)
            .Passthrough("PAY_0", "PAY_2")
            .OneHot("SEX").OneHot("EDUCATION", maxCategories: 5).OneHot("MARRIAGE")
            .Build().Fit(Raw);
        ServingSchema = Features.Bind(Raw[0].Schema);
        Matrix = FeaturePipelineTests.Transform(Features, Raw, out var rows);
        Labels = Raw.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => b["default.payment.next.month"].Values<double>()[r] > 0.5)).ToArray();
        Assert.Equal(Rows, rows);

        Ml = new MLContext(seed: 7);
        var width = Features.FeatureCount;
        var definition = SchemaDefinition.Create(typeof(TrainingRow));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        TrainingData = Ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, Rows).Select(r => new TrainingRow { Features = Matrix.AsSpan(r * width, width).ToArray(), Label = Labels[r] }), definition);
        var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
        {
            ("lr", Ml.BinaryClassification.Trainers.LbfgsLogisticRegression()),
            ("fasttree", Ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 8, numberOfTrees: 30)),
            ("lightgbm", Ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: 8, numberOfIterations: 30)),
        };
        foreach (var (name, trainer) in trainers)
        {
            var model = trainer.Fit(TrainingData);
            using var stream = new MemoryStream();
            Ml.Model.ConvertToOnnx(model, TrainingData, stream, s_outputNames);
            Transformers[name] = model;
            OnnxBytes[name] = stream.ToArray();
        }
    }

    public List<ColumnBatch> Raw { get; }

    public FeaturePipeline Features { get; }

    public Schema ServingSchema { get; }

    public float[] Matrix { get; }

    public bool[] Labels { get; }

    public MLContext Ml { get; }

    public IDataView TrainingData { get; }

    public Dictionary<string, ITransformer> Transformers { get; } = [];

    public Dictionary<string, byte[]> OnnxBytes { get; } = [];

    public OnnxModel Load(string name, string? alias = null) => OnnxModel.FromBytes(OnnxBytes[name], alias ?? name);

    /// <summary>Scores <paramref name="rows"/> rows of the matrix with ONNX Runtime's own Run (one call, OrtValues over
    /// managed arrays, zeros for the label input), the reference the engine must equal.</summary>
    public (float[] Score, float[] Probability, bool[] Label) ReferenceRun(string name, int start, int rows)
    {
        // The engine's session options (one intra-op thread): tree ensembles split over threads sum in another order.
        using var options = OnnxModel.DefaultSessionOptions();
        using var session = new InferenceSession(OnnxBytes[name], options);
        var width = Features.FeatureCount;
        var features = Matrix.AsSpan(start * width, rows * width).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(features, [rows, width]);
        using var label = OrtValue.CreateTensorValueFromMemory(new bool[rows], [rows, 1]);
        var inputs = new Dictionary<string, OrtValue> { ["Features"] = input, ["Label"] = label };
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, inputs, ["Score.output", "Probability.output", "PredictedLabel.output"]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray(),
            outputs[2].GetTensorDataAsSpan<bool>().ToArray());
    }

    /// <summary><see cref="ReferenceRun"/> over the same batch boundaries the engine sees: ONNX Runtime's tree
    /// ensembles sum in a batch-size-dependent order, so only equal batches give bit-equal scores.</summary>
    public (float[] Score, float[] Probability, bool[] Label) ReferenceRunBatched(string name, int capacity, int rows)
    {
        var parts = new List<(float[] Score, float[] Probability, bool[] Label)>();
        for (var start = 0; start < rows; start += capacity) parts.Add(ReferenceRun(name, start, Math.Min(capacity, rows - start)));
        return (parts.SelectMany(p => p.Score).ToArray(), parts.SelectMany(p => p.Probability).ToArray(), parts.SelectMany(p => p.Label).ToArray());
    }

    /// <summary>Serving batches of <paramref name="capacity"/> rows: the raw columns of rows [0, rows) plus the pipeline's
    /// and the scorer's output columns and an int64 "customer" key (the row number).</summary>
    public List<ColumnBatch> ServingBatches(Schema schema, int capacity, int rows)
    {
        var batches = new List<ColumnBatch>();
        var all = Raw.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => (b, r))).Take(rows).ToArray();
        for (var start = 0; start < all.Length; start += capacity)
        {
            var batch = new ColumnBatch(schema, capacity);
            var n = Math.Min(capacity, all.Length - start);
            for (var i = 0; i < n; i++)
            {
                var (source, row) = all[start + i];
                for (var c = 0; c < source.Schema.Count; c++) batch[schema.Require(source.Schema[c].Name)].CopyRow(source[c], row, i);
                if (schema.Contains("customer")) batch["customer"].Values<long>()[i] = start + i;
            }
            batch.Length = n;
            batches.Add(batch);
        }
        return batches;
    }

    public void Dispose() => FeatureTestData.DisposeAll(Raw);

    private sealed class TrainingRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }
}

[CollectionDefinition(Name)]
public sealed class CreditModelsCollection : ICollectionFixture<CreditModels>
{
    public const string Name = "credit models";
}
