using Microsoft.ML;
using Microsoft.ML.Data;

namespace StreamMl.Benchmarks.Scoring;

/// <summary>The benchmarks' tree model: LightGBM binary, 100 trees × 31 leaves, trained by ML.NET on 20,000 rows of 32
/// synthetic float features (uniform in [-5, 5], a label mixing linear and sine terms) and exported to ONNX with
/// "Score", "Probability" and "PredictedLabel". Trained once per process.</summary>
public static class TreeBenchmarkModel
{
    /// <summary>Features per row.</summary>
    public const int Features = 32;

    private static readonly Lazy<(byte[] Onnx, float[] Matrix)> s_model = new(Train);

    /// <summary>The ONNX bytes and the row-major [20,000, 32] training matrix.</summary>
    public static (byte[] Onnx, float[] Matrix) Create() => s_model.Value;

    private static (byte[] Onnx, float[] Matrix) Train()
    {
        var random = new Random(7);
        const int trainingRows = 20_000;
        var matrix = new float[trainingRows * Features];
        var labels = new bool[trainingRows];
        for (var r = 0; r < trainingRows; r++)
        {
            double z = 0;
            for (var c = 0; c < Features; c++)
            {
                var v = (float)(random.NextDouble() * 10 - 5);
                matrix[r * Features + c] = v;
                z += (c % 3 - 1) * v * 0.3 + (c % 5 == 0 ? Math.Sin(v) : 0);
            }
            labels[r] = z + random.NextDouble() * 2 - 1 > 0;
        }
        var ml = new MLContext(seed: 3);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Features);
        var data = ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, trainingRows).Select(r => new Row { Features = matrix.AsSpan(r * Features, Features).ToArray(), Label = labels[r] }), definition);
        var transformer = ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: 31, numberOfIterations: 100, minimumExampleCountPerLeaf: 20).Fit(data);
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(transformer, data, stream, "Score", "Probability", "PredictedLabel");
        return (stream.ToArray(), matrix);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }
}
