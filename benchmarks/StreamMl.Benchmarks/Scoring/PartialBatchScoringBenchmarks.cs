using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Scoring;

/// <summary>The scorer on partial batches, as Kafka and MQTT sources deliver them (32 float features, ML.NET models
/// exported to ONNX, 4,096-row capacity). A batch of n rows is scored as the next size of the form 2^k or 3·2^k, so
/// 512 rows run exactly, 513 rows run as 768 (the worst padding, a third) and 768 rows run exactly: the three show what
/// padding costs. <see cref="VariedCycle"/> scores the repeating sequence of PartialBatchScoringTests (1, 7, 100, 4095,
/// 4096, 13, 2, 513, 64, 3000, 3, 5, 6, 9, 1500 rows); one operation there is one batch, and it must allocate nothing.</summary>
[MemoryDiagnoser]
public class PartialBatchScoringBenchmarks
{
    private const int Capacity = ColumnBatch.DefaultCapacity;
    private const int Features = 32;
    private static readonly int[] s_lengths = [1, 7, 100, 4095, 4096, 13, 2, 513, 64, 3000, 3, 5, 6, 9, 1500];

    [Params("lr", "lightgbm")]
    public string Model { get; set; } = "lr";

    private OnnxModel _model = null!;
    private ScoringOperator _scorer = null!;
    private ColumnBatch[] _batches = [];
    private ColumnBatch _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        var rows = 20_000;
        var matrix = new float[rows * Features];
        var training = new List<Row>(rows);
        for (var r = 0; r < rows; r++)
        {
            double z = 0;
            for (var c = 0; c < Features; c++)
            {
                var v = (float)(random.NextDouble() * 2 - 1);
                matrix[r * Features + c] = v;
                z += (c % 3 - 1) * v;
            }
            training.Add(new Row { Features = matrix.AsSpan(r * Features, Features).ToArray(), Label = z + random.NextDouble() - 0.5 > 0 });
        }
        var ml = new MLContext(seed: 3);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Features);
        var data = ml.Data.LoadFromEnumerable(training, definition);
        IEstimator<ITransformer> trainer = Model == "lr"
            ? ml.BinaryClassification.Trainers.LbfgsLogisticRegression()
            : ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: 16, numberOfIterations: 100);
        var transformer = trainer.Fit(data);
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(transformer, data, stream, "Score", "Probability", "PredictedLabel");
        _model = OnnxModel.FromBytes(stream.ToArray(), Model);

        var names = Enumerable.Range(0, Features).Select(c => $"x{c}").ToArray();
        _scorer = new ScoringOperator(_model, new ScoringOptions { FeatureColumns = names });
        var schema = _scorer.Bind(new Schema(names.Select(n => new Field(n, ColumnType.Float32))));
        ColumnBatch Batch(int length, int start)
        {
            var batch = new ColumnBatch(schema, Capacity);
            for (var c = 0; c < Features; c++)
            {
                var values = batch[c].Values<float>();
                for (var r = 0; r < length; r++) values[r] = matrix[((start + r) % rows) * Features + c];
            }
            batch.Length = length;
            return batch;
        }
        var offset = 0;
        _batches = s_lengths.Select(n => { var b = Batch(n, offset); offset += n; return b; }).ToArray();
        _batch = Batch(Capacity, 0);
        foreach (var b in _batches) _scorer.Score(b);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _batches) b.Dispose();
        _batch.Dispose();
        _scorer.Dispose();
        _model.Dispose();
    }

    /// <summary>512 rows: a bucket size, scored exactly.</summary>
    [Benchmark(Baseline = true)]
    public void Rows512() => ScoreFirst(512);

    /// <summary>513 rows: scored as 768, the most padding any length gets.</summary>
    [Benchmark]
    public void Rows513() => ScoreFirst(513);

    /// <summary>768 rows: the size 513 rows are scored as.</summary>
    [Benchmark]
    public void Rows768() => ScoreFirst(768);

    [Benchmark(OperationsPerInvoke = 15)]
    public void VariedCycle()
    {
        foreach (var b in _batches) _scorer.Score(b);
    }

    private void ScoreFirst(int rows)
    {
        _batch.Length = rows;
        _scorer.Score(_batch);
    }

    public sealed class Row
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }
}
