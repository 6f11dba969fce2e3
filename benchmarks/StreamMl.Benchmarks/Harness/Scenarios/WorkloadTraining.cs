using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Connectors.Files;
using StreamMl.Engine;
using StreamMl.Operators.Features;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>Setup shared by the scenarios that score with a model: read a file into batches, compute a fitted feature
/// pipeline's matrix, and train a FastTree model on it exported to ONNX (the same route a StreamMl user takes).</summary>
internal static class WorkloadTraining
{
    /// <summary>Every batch of a file, read by StreamMl's file source.</summary>
    public static List<ColumnBatch> ReadAll(string path)
    {
        var source = FileSource.Create(new FileSourceOptions { Paths = { path } });
        source.OpenAsync(new SourceContext("setup", new CollectingDeadLetterSink()), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var batches = new List<ColumnBatch>();
        bool more;
        do
        {
            var batch = new ColumnBatch(source.Schema);
            more = source.FillAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (batch.Length > 0) batches.Add(batch); else batch.Dispose();
        }
        while (more);
        source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return batches;
    }

    /// <summary>The row-major [rows, features] matrix of <paramref name="batches"/> under fitted <paramref name="features"/>.</summary>
    public static float[] Matrix(FeaturePipeline features, IEnumerable<ColumnBatch> batches)
    {
        var matrix = new List<float>();
        foreach (var raw in batches)
        {
            using var featured = new ColumnBatch(features.Bind(raw.Schema), raw.Length);
            for (var c = 0; c < raw.Schema.Count; c++)
            {
                var bytes = raw.Length * ColumnTypes.SizeOf(raw.Schema[c].Type);
                raw[c].RawValues[..bytes].CopyTo(featured[raw.Schema[c].Name].RawValues);
                raw[c].ValidityBitmap[..((raw.Length + 7) / 8)].CopyTo(featured[raw.Schema[c].Name].ValidityBitmap);
                if (raw[c].MayHaveNulls) featured[raw.Schema[c].Name].MarkMayHaveNulls();
                if (raw[c].Dictionary is { } dictionary) featured[raw.Schema[c].Name].Dictionary!.CopyFrom(dictionary);
            }
            featured.Length = raw.Length;
            features.Process(featured, StageContext.Standalone("setup"));
            var block = new float[raw.Length * features.FeatureCount];
            features.TransformToMatrix(featured, block, selectedOnly: true);
            matrix.AddRange(block);
        }
        return [.. matrix];
    }

    /// <summary>A FastTree binary classifier trained on <paramref name="matrix"/>, as ONNX bytes.</summary>
    public static byte[] FastTreeOnnx(float[] matrix, bool[] labels, int width, int leaves, int trees, int seed) =>
        FastTreeOnnx(matrix, labels, width, leaves, trees, seed, labelInput: true);

    /// <summary>The same; without <paramref name="labelInput"/> the ONNX graph takes the feature matrix only, as the
    /// host's registry requires.</summary>
    public static byte[] FastTreeOnnx(float[] matrix, bool[] labels, int width, int leaves, int trees, int seed, bool labelInput)
    {
        var ml = new MLContext(seed);
        var definition = SchemaDefinition.Create(typeof(MatrixRow));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, labels.Length)
            .Select(r => new MatrixRow { Features = matrix.AsSpan(r * width, width).ToArray(), Label = labels[r] }), definition);
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: leaves, numberOfTrees: trees).Fit(data);
        using var stream = new MemoryStream();
        if (labelInput)
        {
            ml.Model.ConvertToOnnx(model, data, stream, "Score", "Probability", "PredictedLabel");
        }
        else
        {
            var featuresOnly = SchemaDefinition.Create(typeof(FeatureRow));
            featuresOnly["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
            var input = ml.Data.LoadFromEnumerable(new[] { new FeatureRow { Features = new float[width] } }, featuresOnly);
            ml.Model.ConvertToOnnx(model, input, stream, "Score", "Probability", "PredictedLabel");
        }
        return stream.ToArray();
    }

    /// <summary>A numeric cell as a double, whatever its integer or float type.</summary>
    public static double Number(Column column, int row) => column.Type switch
    {
        ColumnType.Float32 => column.Values<float>()[row],
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        _ => column.Values<long>()[row],
    };

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class MatrixRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }
}
