using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Features;

/// <summary>The derive step (<c>a op b</c>) against plain arithmetic written here: the kernel on both paths, the step in
/// a fitted pipeline on housing rows and on rows with zeros, nulls and numbers, JSON round trips, errors, and zero
/// allocation per batch.</summary>
public sealed class DeriveStepTests
{
    private static readonly HashSet<string> s_strings = ["ocean_proximity"];

    // The definition the docs give: the IEEE float32 result, and NaN (missing) for anything that is not finite.
    private static float Reference(float a, DeriveOperator op, float b)
    {
        var r = op switch
        {
            DeriveOperator.Add => a + b,
            DeriveOperator.Subtract => a - b,
            DeriveOperator.Multiply => a * b,
            _ => a / b,
        };
        return float.IsFinite(r) ? r : float.NaN;
    }

    private static bool Same(float expected, float actual) =>
        BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || (float.IsNaN(expected) && float.IsNaN(actual));

    [Theory]
    [InlineData(DeriveOperator.Add)]
    [InlineData(DeriveOperator.Subtract)]
    [InlineData(DeriveOperator.Multiply)]
    [InlineData(DeriveOperator.Divide)]
    public void Kernel_equals_the_plain_reference_on_the_simd_and_the_scalar_path(DeriveOperator op)
    {
        var random = new Random(7);
        foreach (var n in new[] { 1, 7, 8, 15, 16, 17, 33, 4096 })
        {
            float Value() => random.Next(12) switch
            {
                0 => 0f,
                1 => -0f,
                2 => float.NaN,
                3 => 3e38f,
                4 => float.Epsilon,
                _ => (float)(random.NextDouble() * 2000 - 1000),
            };
            var a = Enumerable.Range(0, n).Select(_ => Value()).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => Value()).ToArray();
            foreach (var simd in new[] { true, false })
            {
                var y = new float[n];
                FeatureKernels.ForceScalar = !simd;
                try { FeatureKernels.Derive(a, b, y, op); }
                finally { FeatureKernels.ForceScalar = false; }
                for (var i = 0; i < n; i++)
                    Assert.True(Same(Reference(a[i], op, b[i]), y[i]), $"n={n} simd={simd} i={i}: {a[i]} {op} {b[i]} gave {y[i]}");
            }
        }
    }

    [Fact]
    public void Ratio_features_on_housing_match_plain_division_after_imputation()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings);
        try
        {
            var pipeline = FeaturePipeline.Create("housing")
                .Derive("raw_bedrooms_per_room", "total_bedrooms / total_rooms")   // before imputation: missing stays missing
                .Impute("total_bedrooms", ImputeStrategy.Median)
                .Derive("bedrooms_per_room", "total_bedrooms / total_rooms")
                .Derive("rooms_per_household", "total_rooms / households")
                .Derive("people_per_thousand", "population * 0.001")
                .Derive("rotated", "latitude + longitude")
                .Derive("inland_minus_half", "ocean_proximity=INLAND - 0.5")       // an operand made by an earlier step
                .OneHot("ocean_proximity", 8)
                .Build();
            // The one-hot comes after the derive that reads it: steps run in order, so that is an error.
            var misordered = Assert.Throws<FeaturePipelineException>(() => pipeline.Fit(batches));
            Assert.Contains("ocean_proximity=INLAND", misordered.Message);

            pipeline = FeaturePipeline.Create("housing")
                .Derive("raw_bedrooms_per_room", "total_bedrooms / total_rooms")
                .Impute("total_bedrooms", ImputeStrategy.Median)
                .Derive("bedrooms_per_room", "total_bedrooms / total_rooms")
                .Derive("rooms_per_household", "total_rooms / households")
                .Derive("people_per_thousand", "population * 0.001")
                .Derive("rotated", "latitude + longitude")
                .OneHot("ocean_proximity", 8)
                .Derive("inland_minus_half", "ocean_proximity=INLAND - 0.5")
                .Build()
                .Fit(batches);
            var matrix = pipeline.TransformAll(batches, out var rows);
            int F(string name) => pipeline.FeatureNames.ToList().IndexOf(name);

            var raw = new List<(double Bedrooms, double Rooms, double Households, double Population, double Lat, double Lon, string Ocean)>();
            foreach (var batch in batches)
                for (var r = 0; r < batch.Length; r++)
                {
                    double Get(string c) => batch[c].IsValid(r) ? batch[c].Values<double>()[r] : double.NaN;
                    var ocean = batch["ocean_proximity"];
                    raw.Add((Get("total_bedrooms"), Get("total_rooms"), Get("households"), Get("population"), Get("latitude"), Get("longitude"),
                        ocean.Dictionary![ocean.Values<int>()[r]]));
                }
            Assert.Equal(raw.Count, rows);
            var present = raw.Select(x => x.Bedrooms).Where(v => !double.IsNaN(v)).Order().ToArray();
            var median = (float)(present.Length % 2 == 1 ? present[present.Length / 2] : (present[present.Length / 2 - 1] + present[present.Length / 2]) / 2);
            Assert.Contains(raw, x => double.IsNaN(x.Bedrooms));
            var width = pipeline.FeatureCount;
            for (var r = 0; r < rows; r++)
            {
                var x = raw[r];
                var bedrooms = double.IsNaN(x.Bedrooms) ? median : (float)x.Bedrooms;
                Assert.True(Same(Reference((float)x.Bedrooms, DeriveOperator.Divide, (float)x.Rooms), matrix[r * width + F("raw_bedrooms_per_room")]), $"row {r}");
                Assert.True(Same(Reference(bedrooms, DeriveOperator.Divide, (float)x.Rooms), matrix[r * width + F("bedrooms_per_room")]), $"row {r}");
                Assert.True(Same((float)x.Rooms / (float)x.Households, matrix[r * width + F("rooms_per_household")]), $"row {r}");
                Assert.True(Same((float)x.Population * 0.001f, matrix[r * width + F("people_per_thousand")]), $"row {r}");
                Assert.True(Same((float)x.Lat + (float)x.Lon, matrix[r * width + F("rotated")]), $"row {r}");
                Assert.Equal(x.Ocean == "INLAND" ? 0.5f : -0.5f, matrix[r * width + F("inland_minus_half")]);
            }

            // Saved and loaded: the same features, bit for bit.
            var again = FeaturePipeline.FromJson(pipeline.ToJson());
            Assert.Contains("\"kind\": \"derive\"", pipeline.ToJson());
            var reloaded = again.TransformAll(batches, out _);
            Assert.True(matrix.Zip(reloaded).All(p => Same(p.First, p.Second)));
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Division_by_zero_and_missing_operands_give_missing_values()
    {
        var schema = new Schema(new Field("a", ColumnType.Float32), new Field("b", ColumnType.Int32));
        using var batch = new ColumnBatch(schema, 8);
        float[] a = [6f, 1f, 0f, -2f, 5f, 7f];
        int[] b = [3, 0, 0, 0, 2, 4];
        a.CopyTo(batch[0].Values<float>());
        b.CopyTo(batch[1].Values<int>());
        batch.Length = a.Length;
        batch[1].SetNull(4);
        var pipeline = FeaturePipeline.Create().Derive("ratio", "a / b").Derive("inverse", "1 / b").Derive("scaled", "a * 2").Build().Fit([batch]);
        var matrix = pipeline.TransformAll([batch], out var rows);
        Assert.Equal(6, rows);
        // Features: a, b (loaded as operands), ratio, inverse, scaled.
        Assert.Equal(new[] { "a", "b", "ratio", "inverse", "scaled" }, pipeline.FeatureNames);
        float[] ratio = [2f, float.NaN, float.NaN, float.NaN, float.NaN, 1.75f];
        float[] inverse = [1f / 3, float.NaN, float.NaN, float.NaN, float.NaN, 0.25f];
        for (var r = 0; r < rows; r++)
        {
            Assert.True(Same(ratio[r], matrix[r * 5 + 2]), $"ratio row {r}: {matrix[r * 5 + 2]}");
            Assert.True(Same(inverse[r], matrix[r * 5 + 3]), $"inverse row {r}: {matrix[r * 5 + 3]}");
            Assert.Equal(a[r] * 2, matrix[r * 5 + 4]);
        }
    }

    [Fact]
    public void Bad_expressions_and_unknown_columns_fail_with_what_and_where()
    {
        var noSpaces = Assert.Throws<FeaturePipelineException>(() => FeaturePipeline.Create().Derive("r", "total_rooms/households"));
        Assert.Contains("'total_rooms/households' is not one operation 'a op b'", noSpaces.Message);
        var twoNumbers = Assert.Throws<FeaturePipelineException>(() => FeaturePipeline.Create().Derive("r", "1 / 2"));
        Assert.Contains("names no feature", twoNumbers.Message);
        var itself = Assert.Throws<FeaturePipelineException>(() => FeaturePipeline.Create().Derive("r", "r * 2"));
        Assert.Contains("reads itself", itself.Message);

        using var batch = new ColumnBatch(new Schema(new Field("total_rooms", ColumnType.Float32), new Field("households", ColumnType.Float32)), 4);
        batch.Length = 2;
        var unknown = Assert.Throws<FeaturePipelineException>(() =>
            FeaturePipeline.Create().Derive("r", "total_rooms / housholds").Build().Fit([batch]));
        Assert.Contains("'housholds'", unknown.Message);
        Assert.Contains("total_rooms, households", unknown.Message);
        var twice = Assert.Throws<FeaturePipelineException>(() =>
            FeaturePipeline.Create().Passthrough("total_rooms").Derive("total_rooms", "households * 2").Build().Fit([batch]));
        Assert.Contains("'total_rooms' is produced twice", twice.Message);
    }

    [Fact]
    public void Transform_with_derived_features_allocates_nothing_per_batch()
    {
        var batches = FeatureTestData.ReadCsv(FeatureTestData.HousingCsv, 4096, s_strings, maxRows: 12_000);
        try
        {
            var pipeline = FeaturePipeline.Create("housing")
                .Impute("total_bedrooms", ImputeStrategy.Median)
                .Derive("bedrooms_per_room", "total_bedrooms / total_rooms")
                .Derive("rooms_per_household", "total_rooms / households")
                .Derive("people_per_thousand", "population * 0.001")
                .Derive("inverse_households", "1 / households")
                .Build().Fit(batches);
            var schema = pipeline.Bind(batches[0].Schema);
            var serving = batches.Select(b => FeatureTestData.WithSchema(b, schema)).ToList();
            foreach (var b in serving) pipeline.Transform(b);
            var allocated = SteadyState.AllocatedBytes(() => { foreach (var b in serving) pipeline.Transform(b); }, 20);
            FeatureTestData.DisposeAll(serving);
            Assert.Equal(0, allocated);
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }
}
