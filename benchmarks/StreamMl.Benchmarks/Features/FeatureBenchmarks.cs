using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Benchmarks.Features;

/// <summary>Feature kernels on one 4096 x 32 float32 batch (512 KiB in, 512 KiB out): the feature pipeline (SIMD and
/// forced scalar) against a memcpy of the same bytes (the physical limit), a plain scalar loop, and ML.NET's
/// NormalizeMeanVariance / OneHotEncoding transforming the same rows. One operation = one batch.</summary>
[MemoryDiagnoser]
public class FeatureBenchmarks
{
    private const int Rows = ColumnBatch.DefaultCapacity;
    private const int Columns = 32;

    private ColumnBatch _batch = null!;
    private FeaturePipeline _scale = null!;
    private FeaturePipeline _impute = null!;
    private FeaturePipeline _oneHot = null!;
    private ColumnBatch _scaleBatch = null!;
    private ColumnBatch _imputeBatch = null!;
    private ColumnBatch _oneHotBatch = null!;
    private float[][] _source = [];
    private float[][] _target = [];
    private float[] _means = [];
    private float[] _scales = [];
    private MLContext _ml = null!;
    private IDataView _mlData = null!;
    private ITransformer _mlNormalizer = null!;
    private IDataView _mlCategories = null!;
    private ITransformer _mlOneHot = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var fields = Enumerable.Range(0, Columns).Select(c => new Field($"x{c}", ColumnType.Float32)).Append(new Field("city", ColumnType.String)).ToArray();
        var schema = new Schema(fields);
        _batch = new ColumnBatch(schema, Rows);
        string[] cities = ["Paris", "Lyon", "Nice", "Lille", "Nantes", "Rennes", "Brest", "Metz", "Dijon", "Caen", "Tours", "Pau"];
        for (var r = 0; r < Rows; r++)
        {
            for (var c = 0; c < Columns; c++) _batch[c].Values<float>()[r] = (float)(random.NextDouble() * 100 - 20 + c);
            _batch["city"].Values<int>()[r] = _batch["city"].Dictionary!.GetOrAdd(cities[random.Next(cities.Length)]);
            if (r % 17 == 0) _batch[r % Columns].SetNull(r);
        }
        _batch.Length = Rows;
        var names = Enumerable.Range(0, Columns).Select(c => $"x{c}").ToArray();

        _scale = FeaturePipeline.Create().StandardScale(names).Build().Fit([_batch]);
        var imputeBuilder = FeaturePipeline.Create();
        foreach (var n in names) imputeBuilder.Impute(n, ImputeStrategy.Mean);
        _impute = imputeBuilder.Build().Fit([_batch]);
        _oneHot = FeaturePipeline.Create().OneHot("city").Build().Fit([_batch]);
        _scaleBatch = Copy(_batch, _scale.Bind(schema));
        _imputeBatch = Copy(_batch, _impute.Bind(schema));
        _oneHotBatch = Copy(_batch, _oneHot.Bind(schema));

        _source = Enumerable.Range(0, Columns).Select(c => _batch[c].Values<float>()[..Rows].ToArray()).ToArray();
        _target = Enumerable.Range(0, Columns).Select(_ => new float[Rows]).ToArray();
        _means = _scale.Steps.Cast<StandardScaleStep>().Select(s => s.Mean).ToArray();
        _scales = _scale.Steps.Cast<StandardScaleStep>().Select(s => 1f / s.Std).ToArray();

        _ml = new MLContext(seed: 1);
        var definition = SchemaDefinition.Create(typeof(VectorRow));
        definition["X"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Columns);
        var rows = Enumerable.Range(0, Rows).Select(r => new VectorRow { X = _source.Select(col => col[r]).ToArray() }).ToArray();
        _mlData = _ml.Data.Cache(_ml.Data.LoadFromEnumerable(rows, definition));
        _mlNormalizer = _ml.Transforms.NormalizeMeanVariance("X", fixZero: false).Fit(_mlData);
        var categories = Enumerable.Range(0, Rows).Select(r => new CityRow { City = _batch["city"].Dictionary![_batch["city"].Values<int>()[r]] }).ToArray();
        _mlCategories = _ml.Data.Cache(_ml.Data.LoadFromEnumerable(categories));
        _mlOneHot = _ml.Transforms.Categorical.OneHotEncoding("CityVector", "City").Fit(_mlCategories);
        FeatureKernels.ForceScalar = false;
    }

    private static ColumnBatch Copy(ColumnBatch source, Schema schema)
    {
        var batch = new ColumnBatch(schema, source.Capacity);
        for (var r = 0; r < source.Length; r++)
            for (var c = 0; c < source.Schema.Count; c++) batch[c].CopyRow(source[c], r, r);
        batch.Length = source.Length;
        return batch;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _batch.Dispose();
        _scaleBatch.Dispose();
        _imputeBatch.Dispose();
        _oneHotBatch.Dispose();
    }

    /// <summary>The physical limit: copy the 32 columns (512 KiB) into 32 other columns.</summary>
    [Benchmark(Baseline = true)]
    public void Memcpy()
    {
        for (var c = 0; c < Columns; c++) _source[c].AsSpan().CopyTo(_target[c]);
    }

    /// <summary>A plain loop computing (x - mean) * (1 / std) from the inputs into the outputs.</summary>
    [Benchmark]
    public void ScalarLoopStandardScale()
    {
        for (var c = 0; c < Columns; c++)
        {
            var src = _source[c];
            var dst = _target[c];
            float m = _means[c], s = _scales[c];
            for (var r = 0; r < src.Length; r++) dst[r] = (src[r] - m) * s;
        }
    }

    [Benchmark]
    public void PipelineStandardScale() => _scale.Transform(_scaleBatch);

    [Benchmark]
    public void PipelineStandardScaleForcedScalar()
    {
        FeatureKernels.ForceScalar = true;
        _scale.Transform(_scaleBatch);
        FeatureKernels.ForceScalar = false;
    }

    [Benchmark]
    public void PipelineImputeMean() => _impute.Transform(_imputeBatch);

    [Benchmark]
    public void PipelineOneHot() => _oneHot.Transform(_oneHotBatch);

    /// <summary>ML.NET's fitted NormalizeMeanVariance over the same 4096 x 32 values, read back through a cursor.</summary>
    [Benchmark]
    public float MlNetNormalizeMeanVariance()
    {
        var output = _mlNormalizer.Transform(_mlData);
        using var cursor = output.GetRowCursor(output.Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["X"]);
        VBuffer<float> value = default;
        var sum = 0f;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value.GetValues()[0];
        }
        return sum;
    }

    /// <summary>ML.NET's fitted OneHotEncoding of the same 4096 city strings.</summary>
    [Benchmark]
    public float MlNetOneHotEncoding()
    {
        var output = _mlOneHot.Transform(_mlCategories);
        using var cursor = output.GetRowCursor(output.Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["CityVector"]);
        VBuffer<float> value = default;
        var sum = 0f;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value.GetValues().Length;
        }
        return sum;
    }

    private sealed class VectorRow
    {
        public float[] X { get; set; } = [];
    }

    private sealed class CityRow
    {
        public string City { get; set; } = "";
    }
}
