using Microsoft.ML;
using StreamMl.Engine;
using StreamMl.Operators.Features;

namespace StreamMl.Operators.Tests.Features;

/// <summary>Fits a pipeline on the California housing data and compares every feature with a plain reference computed
/// here from first principles (sorting, double sums), row by row.</summary>
public sealed class FeaturePipelineTests
{
    private static readonly HashSet<string> s_strings = ["ocean_proximity"];

    private static FeaturePipeline BuildHousing() => FeaturePipeline.Create("housing")
        .Impute("total_bedrooms", ImputeStrategy.Median).RobustScale("total_bedrooms")
        .StandardScale("median_income")
        .MinMaxScale("housing_median_age")
        .Log1p("population").Clip("population", 2f, 8f)
        .Bin("households", 5)
        .ImputeConstant("total_rooms", -1f)
        .OneHot("ocean_proximity", maxCategories: 4)
        .Hash("ocean_proximity", 4)
        .Pca(["longitude", "latitude"], 1)
        .Build();

    [Fact]
    public void Fitted_features_match_a_plain_reference_on_housing()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings);
        try
        {
            var pipeline = BuildHousing().Fit(batches);
            var all = Columns(batches);
            var n = all["median_income"].Length;

            // Reference statistics, computed independently of the pipeline's code.
            var bedrooms = all["total_bedrooms"];
            var presentBedrooms = bedrooms.Where(v => !double.IsNaN(v)).Order().ToArray();
            var bedroomMedian = (float)Percentile(presentBedrooms, 0.5);
            var imputed = bedrooms.Select(v => double.IsNaN(v) ? bedroomMedian : (float)v).Select(v => (double)v).Order().ToArray();
            var robustMedian = (float)Percentile(imputed, 0.5);
            var robustRange = (float)(Percentile(imputed, 0.75) - Percentile(imputed, 0.25));
            var income = all["median_income"].Select(v => (double)(float)v).ToArray();
            var incomeMean = income.Average();
            var incomeStd = Math.Sqrt(income.Select(v => (v - incomeMean) * (v - incomeMean)).Sum() / n);
            var age = all["housing_median_age"].Select(v => (float)v).ToArray();
            float ageMin = age.Min(), ageMax = age.Max();
            var households = all["households"].Select(v => (double)(float)v).Order().ToArray();
            var edges = Enumerable.Range(1, 4).Select(i => (float)Percentile(households, i / 5.0)).Distinct().ToArray();
            var oceanCounts = all.Strings["ocean_proximity"].GroupBy(s => s).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Take(4).Select(g => g.Key).Order(StringComparer.Ordinal).ToArray();

            var expectedNames = new List<string> { "total_bedrooms", "median_income", "housing_median_age", "population", "households", "total_rooms" };
            expectedNames.AddRange(oceanCounts.Select(c => "ocean_proximity=" + c));
            expectedNames.Add("ocean_proximity=<unknown>");
            expectedNames.AddRange(Enumerable.Range(0, 4).Select(i => $"ocean_proximity#{i}"));
            expectedNames.Add("pca0");
            Assert.Equal(expectedNames, pipeline.FeatureNames);

            var (pcaMean, pcaComponent, pcaVariance) = ReferencePca(all["longitude"], all["latitude"]);
            var step = Assert.IsType<PcaStep>(pipeline.Steps[^1]);
            Assert.Equal(pcaVariance, step.ExplainedVariance[0], pcaVariance * 1e-6);

            var matrix = Transform(pipeline, batches, out var rows);
            Assert.Equal(n, rows);
            var width = pipeline.FeatureCount;
            for (var r = 0; r < n; r++)
            {
                var f = matrix.AsSpan(r * width, width);
                var b = double.IsNaN(bedrooms[r]) ? bedroomMedian : (float)bedrooms[r];
                Near((b - robustMedian) / robustRange, f[0], r, "total_bedrooms");
                Near((income[r] - incomeMean) / incomeStd, f[1], r, "median_income");
                Near((age[r] - ageMin) / (ageMax - ageMin), f[2], r, "housing_median_age");
                Near(Math.Clamp(Math.Log(1 + (float)all["population"][r]), 2, 8), f[3], r, "population");
                Assert.Equal(edges.Count(e => (float)all["households"][r] >= e), f[4]);
                Assert.Equal(double.IsNaN(all["total_rooms"][r]) ? -1f : (float)all["total_rooms"][r], f[5]);
                var ocean = all.Strings["ocean_proximity"][r];
                var hot = Array.IndexOf(oceanCounts, ocean);
                for (var k = 0; k <= oceanCounts.Length; k++)
                    Assert.Equal(k == (hot < 0 ? oceanCounts.Length : hot) ? 1f : 0f, f[6 + k]);
                var bucket = (int)(ReferenceFnv(ocean) % 4);
                for (var k = 0; k < 4; k++) Assert.Equal(k == bucket ? 1f : 0f, f[6 + oceanCounts.Length + 1 + k]);
                var projection = ((float)all["longitude"][r] - pcaMean[0]) * pcaComponent[0] + ((float)all["latitude"][r] - pcaMean[1]) * pcaComponent[1];
                Near(projection, f[^1], r, "pca0");
            }
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Json_round_trip_is_bit_identical()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings);
        try
        {
            var pipeline = BuildHousing().Fit(batches);
            var json = pipeline.ToJson();
            var dir = Directory.CreateTempSubdirectory("streamml-features-");
            try
            {
                var path = Path.Combine(dir.FullName, "features.json");
                pipeline.Save(path);
                var loaded = FeaturePipeline.Load(path);
                Assert.Equal(json, loaded.ToJson());
                Assert.Equal(pipeline.FeatureNames, loaded.FeatureNames);
                var before = Transform(pipeline, batches, out _);
                var after = Transform(loaded, batches, out _);
                Assert.Equal(before.Length, after.Length);
                for (var i = 0; i < before.Length; i++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(before[i]), BitConverter.SingleToInt32Bits(after[i]));
            }
            finally { dir.Delete(recursive: true); }
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Standard_scaling_agrees_with_MLNET_NormalizeMeanVariance()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings);
        try
        {
            var pipeline = FeaturePipeline.Create().StandardScale("median_income", "total_rooms").Build().Fit(batches);
            var matrix = Transform(pipeline, batches, out var rows);
            var all = Columns(batches);
            var ml = new Microsoft.ML.MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(r => new TwoFloats
            {
                A = (float)all["median_income"][r],
                B = (float)all["total_rooms"][r],
            }));
            var normalizer = ml.Transforms.NormalizeMeanVariance(
                [new Microsoft.ML.InputOutputColumnPair("A"), new Microsoft.ML.InputOutputColumnPair("B")], fixZero: false);
            var output = normalizer.Fit(data).Transform(data);
            var expected = ml.Data.CreateEnumerable<TwoFloats>(output, reuseRowObject: false).ToArray();
            for (var r = 0; r < rows; r++)
            {
                // ML.NET divides by the sample deviation (n - 1), this pipeline by the population one: 1/(2n) apart.
                Assert.Equal(expected[r].A, matrix[r * 2], Math.Abs(expected[r].A) * 1e-4 + 1e-5);
                Assert.Equal(expected[r].B, matrix[r * 2 + 1], Math.Abs(expected[r].B) * 1e-4 + 1e-5);
            }
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Unknown_and_null_categories_go_to_the_unknown_bucket_and_integers_are_categories()
    {
        var schema = new Schema(new Field("city", ColumnType.String), new Field("code", ColumnType.Int32));
        using var train = new ColumnBatch(schema, 8);
        string[] cities = ["b", "a", "b", "c", "b", "a"];
        int[] codes = [3, 1, 3, 7, 1, 3];
        for (var r = 0; r < cities.Length; r++)
        {
            train[0].Values<int>()[r] = train[0].Dictionary!.GetOrAdd(cities[r]);
            train[1].Values<int>()[r] = codes[r];
        }
        train.Length = cities.Length;
        var pipeline = FeaturePipeline.Create().OneHot("city", maxCategories: 2).OneHot("code").Build().Fit([train]);
        Assert.Equal(["city=a", "city=b", "city=<unknown>", "code=1", "code=3", "code=7", "code=<unknown>"], pipeline.FeatureNames);

        using var serve = new ColumnBatch(pipeline.Bind(schema), 8);
        // A fresh dictionary with other codes than training: mapping must go by value.
        string?[] serveCities = ["z", "b", null, "a", "c"];
        int?[] serveCodes = [7, 2, 1, null, 3];
        for (var r = 0; r < serveCities.Length; r++)
        {
            if (serveCities[r] is { } c) serve[0].Values<int>()[r] = serve[0].Dictionary!.GetOrAdd(c); else serve[0].SetNull(r);
            if (serveCodes[r] is { } k) serve[1].Values<int>()[r] = k; else serve[1].SetNull(r);
        }
        serve.Length = serveCities.Length;
        var matrix = new float[serveCities.Length * pipeline.FeatureCount];
        pipeline.TransformToMatrix(serve, matrix);
        float[][] expected =
        [
            [0, 0, 1, 0, 0, 1, 0],
            [0, 1, 0, 0, 0, 0, 1],
            [0, 0, 1, 1, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 1],
            [0, 0, 1, 0, 1, 0, 0],
        ];
        Assert.Equal(expected.SelectMany(r => r).ToArray(), matrix);
    }

    [Fact]
    public async Task FitAsync_on_a_source_fits_the_same_state_as_Fit_on_batches()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings, maxRows: 5000);
        try
        {
            var fromBatches = BuildHousing().Fit(batches).ToJson();
            // The source hands out batches of 1,000 rows: fitting must not depend on batch boundaries.
            var fromSource = (await BuildHousing().FitAsync(new ListSource(batches), capacity: 1000)).ToJson();
            Assert.Equal(fromBatches, fromSource);
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void TransformAll_on_raw_batches_skips_unselected_rows_and_matches_the_serving_path()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 1000, s_strings, maxRows: 3000);
        try
        {
            var pipeline = BuildHousing().Fit(batches);
            var serving = Transform(pipeline, batches, out var servedRows);
            // Deselect every third row of the raw batches: the training matrix must hold exactly the other rows.
            foreach (var b in batches) for (var r = 0; r < b.Length; r += 3) b.Selection.Deselect(r);
            var training = pipeline.TransformAll(batches, out var rows);
            var width = pipeline.FeatureCount;
            var kept = Enumerable.Range(0, servedRows).Where(r => (r % 1000) % 3 != 0).ToArray();
            Assert.Equal(kept.Length, rows);
            Assert.Equal(kept.SelectMany(r => serving.AsSpan(r * width, width).ToArray()).ToArray(), training);
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Integer_hashing_uses_FNV1a_over_the_little_endian_bytes()
    {
        var schema = new Schema(new Field("code", ColumnType.Int64));
        using var batch = new ColumnBatch(schema, 64);
        for (var r = 0; r < 50; r++) batch[0].Values<long>()[r] = r * 7919L - 100_000;
        batch[0].SetNull(3);
        batch.Length = 50;
        var pipeline = FeaturePipeline.Create().Hash("code", 5).Build().Fit([batch]);
        using var serve = FeatureTestData.WithSchema(batch, pipeline.Bind(schema));
        var matrix = new float[50 * 5];
        pipeline.TransformToMatrix(serve, matrix);
        for (var r = 0; r < 50; r++)
        {
            var hash = 0x811C9DC5u;
            foreach (var b in BitConverter.GetBytes(r * 7919L - 100_000)) { hash ^= b; hash *= 0x01000193; }
            for (var k = 0; k < 5; k++) Assert.Equal(r != 3 && k == hash % 5 ? 1f : 0f, matrix[r * 5 + k]);
        }
    }

    [Fact]
    public void Transform_allocates_nothing_in_steady_state()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings, maxRows: 8192);
        try
        {
            var pipeline = BuildHousing().Fit(batches);
            var schema = pipeline.Bind(batches[0].Schema);
            var serving = batches.Select(b => FeatureTestData.WithSchema(b, schema)).ToList();
            foreach (var b in serving) pipeline.Transform(b);
            var allocated = SteadyState.AllocatedBytes(() => { foreach (var b in serving) pipeline.Transform(b); }, 20);
            FeatureTestData.DisposeAll(serving);
            Assert.Equal(0, allocated);
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Missing_input_column_and_unfitted_use_fail_with_clear_messages()
    {
        var pipeline = FeaturePipeline.Create().StandardScale("x").Build();
        var unfitted = Assert.Throws<FeaturePipelineException>(() => pipeline.Bind(new Schema(new Field("x", ColumnType.Float32))));
        Assert.Contains("not fitted", unfitted.Message);
        using var batch = new ColumnBatch(new Schema(new Field("y", ColumnType.Float32)), 4);
        batch.Length = 2;
        var missing = Assert.Throws<FeaturePipelineException>(() => pipeline.Fit([batch]));
        Assert.Contains("'x'", missing.Message);
        Assert.Contains("y", missing.Message);
        var bad = Assert.Throws<FeaturePipelineException>(() => FeaturePipeline.FromJson("{\"format\":\"streamml.features\",\"version\":99}"));
        Assert.Contains("version 99", bad.Message);
    }

    internal static float[] Transform(FeaturePipeline pipeline, List<ColumnBatch> batches, out int rows)
    {
        var schema = pipeline.Bind(batches[0].Schema);
        var total = batches.Sum(b => b.Length);
        var matrix = new float[total * pipeline.FeatureCount];
        rows = 0;
        foreach (var source in batches)
        {
            using var batch = FeatureTestData.WithSchema(source, schema);
            rows += pipeline.TransformToMatrix(batch, matrix.AsSpan(rows * pipeline.FeatureCount));
        }
        return matrix;
    }

    private static void Near(double expected, float actual, int row, string feature)
    {
        var tolerance = 1e-5 * Math.Max(1, Math.Abs(expected));
        if (Math.Abs(expected - actual) > tolerance)
            Assert.Fail($"row {row} feature {feature}: expected {expected}, got {actual}");
    }

    private static double Percentile(double[] sorted, double q)
    {
        // Linear interpolation between the order statistics around q*(n-1), written independently of the pipeline.
        var h = (sorted.Length - 1) * q;
        var below = sorted[(int)Math.Floor(h)];
        var above = sorted[(int)Math.Ceiling(h)];
        return below + (h - Math.Floor(h)) * (above - below);
    }

    private static uint ReferenceFnv(string s)
    {
        var bytes = System.Text.Encoding.Unicode.GetBytes(s);
        uint hash = 0x811C9DC5;
        foreach (var b in bytes) { hash ^= b; hash *= 0x01000193; }
        return hash;
    }

    private static (float[] Mean, double[] Component, double Variance) ReferencePca(double[] x, double[] y)
    {
        // Power iteration on the 2x2 sample covariance: a different algorithm from the pipeline's Jacobi rotations.
        var xs = x.Select(v => (double)(float)v).ToArray();
        var ys = y.Select(v => (double)(float)v).ToArray();
        double mx = xs.Average(), my = ys.Average();
        var n = xs.Length;
        double sxx = 0, syy = 0, sxy = 0;
        for (var i = 0; i < n; i++) { sxx += (xs[i] - mx) * (xs[i] - mx); syy += (ys[i] - my) * (ys[i] - my); sxy += (xs[i] - mx) * (ys[i] - my); }
        sxx /= n - 1; syy /= n - 1; sxy /= n - 1;
        double vx = 1, vy = 0.5;
        for (var it = 0; it < 1000; it++)
        {
            var nx = sxx * vx + sxy * vy;
            var ny = sxy * vx + syy * vy;
            var norm = Math.Sqrt(nx * nx + ny * ny);
            vx = nx / norm; vy = ny / norm;
        }
        var lambda = vx * (sxx * vx + sxy * vy) + vy * (sxy * vx + syy * vy);
        if (Math.Abs(vy) > Math.Abs(vx) ? vy < 0 : vx < 0) { vx = -vx; vy = -vy; }
        return ([(float)mx, (float)my], [vx, vy], lambda);
    }

    internal sealed class ColumnsData : Dictionary<string, double[]>
    {
        public Dictionary<string, string[]> Strings { get; } = [];
    }

    internal static ColumnsData Columns(List<ColumnBatch> batches)
    {
        var result = new ColumnsData();
        foreach (var field in batches[0].Schema)
        {
            if (field.Type == ColumnType.String)
                result.Strings[field.Name] = batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => b[field.Name].Dictionary![b[field.Name].Values<int>()[r]])).ToArray();
            else
                result[field.Name] = batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => b[field.Name].IsValid(r) ? b[field.Name].Values<double>()[r] : double.NaN)).ToArray();
        }
        return result;
    }

    private sealed class TwoFloats
    {
        public float A { get; set; }
        public float B { get; set; }
    }

    /// <summary>Replays batches' rows in batches of the requested capacity, columns matched by name.</summary>
    private sealed class ListSource(List<ColumnBatch> batches) : IBatchSource
    {
        private readonly (ColumnBatch Batch, int Row)[] _rows = batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => (b, r))).ToArray();
        private int _next;

        public string Name => "list";

        public Schema Schema => batches[0].Schema;

        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            var n = Math.Min(batch.Capacity, _rows.Length - _next);
            for (var i = 0; i < n; i++)
            {
                var (source, row) = _rows[_next + i];
                for (var c = 0; c < source.Schema.Count; c++) batch[batch.Schema.Require(source.Schema[c].Name)].CopyRow(source[c], row, i);
            }
            batch.Length = n;
            _next += n;
            return ValueTask.FromResult(_next < _rows.Length);
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) { }

        public string Describe(int partition, long offset) => $"row {offset}";

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
