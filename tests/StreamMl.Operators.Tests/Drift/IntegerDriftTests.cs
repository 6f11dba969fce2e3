using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Drift.Internal;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>Drift over int64 and int32 columns (binned by integer thresholds, categories by a dense map) against a
/// plain reference written here: each value converted to double, binned by a linear scan of the edges, moments by two
/// passes, KS and PSI from their definitions; extremes included (long.MinValue/MaxValue, values beyond 2^53).</summary>
public sealed class IntegerDriftTests
{
    private const long TwoTo53 = 1L << 53;

    /// <summary>Edges that stress the conversion: beyond every long at both ends, exactly ±2^63, halfway points and
    /// odd values beyond 2^53 where the double grid is coarser than the integers, and ordinary small edges.</summary>
    private static readonly double[] s_extremeEdges =
    [
        -1e19, -9223372036854775808.0, -(double)TwoTo53 - 3, -1000.5, -1, 0, 0.5, 3, 17.25, 1e6,
        TwoTo53, TwoTo53 + 2.0, TwoTo53 + 4.0, TwoTo53 + 6.0, 4611686018427388928.0, 4611686018427389952.0, 9223372036854774784.0, 9223372036854775808.0, 1e19,
    ];

    private static readonly long[] s_specials =
    [
        long.MinValue, long.MinValue + 1, long.MaxValue, long.MaxValue - 1, long.MaxValue - 511, long.MaxValue - 512,
        long.MaxValue - 513, TwoTo53, TwoTo53 + 1, TwoTo53 + 2, TwoTo53 + 3, TwoTo53 + 5, -TwoTo53 - 3, -TwoTo53 - 4,
        (1L << 62) + 511, (1L << 62) + 512, (1L << 62) + 513, (1L << 62) + 1536, (1L << 62) + 1535, 0, -1, 1, 3, 17, 18,
    ];

    [Property(MaxTest = 300)]
    public Property ThresholdsAgreeWithConvertingEachValue(long[] raw, NormalFloat edgeRaw, int pick)
    {
        var edge = (pick & 3) switch
        {
            0 => edgeRaw.Get,
            1 => s_extremeEdges[Math.Abs(pick % s_extremeEdges.Length)],
            2 => (double)s_specials[Math.Abs(pick % s_specials.Length)] + edgeRaw.Get % 2048,
            _ => edgeRaw.Get * 1e15,
        };
        var thresholds = IntegerKernel.Thresholds([edge], out var reachable);
        var values = raw.Concat(s_specials).Concat(s_specials.Select(s => unchecked(s + (long)edgeRaw.Get)));
        var ok = values.All(v => ((double)v < edge) == (reachable == 0 || v < thresholds[0]));
        return ok.Label($"edge {edge:R}, reachable {reachable}, threshold {(reachable > 0 ? thresholds[0] : 0)}");
    }

    [Theory]
    [InlineData(ColumnType.Int64, true, 1)]
    [InlineData(ColumnType.Int64, false, 2)]
    [InlineData(ColumnType.Int32, true, 3)]
    [InlineData(ColumnType.Int32, false, 4)]
    public void NumericStatisticsMatchTheConversionReferenceWithExtremesNullsAndDeselectedRows(ColumnType type, bool useSimd, int seed)
    {
        var rng = new Random(seed);
        var edges = type == ColumnType.Int64 ? s_extremeEdges : [-1e10, int.MinValue, -1000.5, -1, 0, 0.5, 3, 17.25, 1e6, int.MaxValue, 3e9];
        var profile = Profile(edges, [.. Enumerable.Range(0, edges.Length + 1).Select(k => 50L + 13 * k)]);
        var drift = new DriftOperator(new DriftOptions { Profile = profile, UseSimd = useSimd });
        var schema = new Schema(new Field("v", type));
        drift.Bind(schema);
        var context = StageContext.Standalone("drift");
        var live = new List<long>();
        var missing = 0L;
        using var batch = new ColumnBatch(schema, 4096);
        Feed(rng, type, batch, drift, context, live, ref missing);

        var report = drift.GetReport();
        var feature = report.Features.Single();
        var converted = live.Select(v => (double)v).ToArray();
        Assert.Equal(converted.Length, feature.Count);
        Assert.Equal(missing, feature.Missing);
        var expectedBins = BinsByLinearScan(converted, edges);
        Assert.Equal(expectedBins, feature.Counts);
        Assert.Equal(converted.Min(), feature.Min);
        Assert.Equal(converted.Max(), feature.Max);
        var (mean, variance) = ExactReference.TwoPass(converted);
        var scale = converted.Max(Math.Abs);
        Assert.True(Math.Abs(mean - feature.Mean!.Value) <= 1e-12 * scale, $"mean {feature.Mean} vs {mean}");
        Assert.True(Math.Abs(Math.Sqrt(variance) - feature.StdDev!.Value) <= 1e-9 * Math.Sqrt(variance), $"sd {feature.StdDev} vs {Math.Sqrt(variance)}");
        var referenceBins = profile.Features[0].BinCounts;
        Assert.Equal(NaiveKs(referenceBins, expectedBins), feature.KolmogorovSmirnov!.Value, 12);
        Assert.Equal(ExactReference.Psi(referenceBins, expectedBins, new DriftThresholds().PsiFloor), feature.Psi!.Value, 9);
    }

    /// <summary>Batches of several sizes (1 and 7 below a vector, 33 with a tail); the 1000-row batch has nulls and
    /// deselected rows, the 33-row batch nulls. <paramref name="live"/> gets every selected, valid value.</summary>
    private static void Feed(Random rng, ColumnType type, ColumnBatch batch, DriftOperator drift, StageContext context,
        List<long> live, ref long missing)
    {
        foreach (var size in new[] { 4096, 1, 7, 4096, 1000, 33 })
        {
            batch.Reset();
            var deselect = size == 1000;
            var withNulls = size is 1000 or 33;
            var skipped = new List<int>();
            for (var r = 0; r < size; r++)
            {
                var v = type == ColumnType.Int64 ? Int64Value(rng) : Int32Value(rng);
                if (type == ColumnType.Int64) batch[0].Values<long>()[r] = v; else batch[0].Values<int>()[r] = (int)v;
                var isNull = withNulls && rng.Next(10) == 0;
                if (isNull) batch[0].SetNull(r);
                var selected = !deselect || rng.Next(5) != 0;
                if (!selected) { skipped.Add(r); continue; }
                if (isNull) missing++; else live.Add(v);
            }
            batch.Length = size;
            foreach (var r in skipped) batch.Selection.Deselect(r);
            drift.Process(batch, context);
        }
    }

    [Theory]
    [InlineData(ColumnType.Int64)]
    [InlineData(ColumnType.Int32)]
    public void IntegerCategoriesMatchCountingByDictionary(ColumnType type)
    {
        // Codes -2..8 as in credit pay-status columns, plus codes the profile never saw (far off and just outside).
        string[] categories = ["-2", "-1", "0", "1", "2", "3", "5", "8"];
        var profile = new ReferenceProfile
        {
            Features = [new FeatureProfile
            {
                Name = "v", Kind = FeatureKind.Categorical, Count = 800, Categories = categories,
                CategoryCounts = [100, 100, 100, 100, 100, 100, 100, 100, 0],
            }],
        };
        var drift = new DriftOperator(new DriftOptions { Profile = profile });
        var schema = new Schema(new Field("v", type));
        drift.Bind(schema);
        var rng = new Random(7);
        var expected = new long[categories.Length + 1];
        var index = categories.Select((c, i) => (long.Parse(c, System.Globalization.CultureInfo.InvariantCulture), i)).ToDictionary();
        long missing = 0;
        using var batch = new ColumnBatch(schema, 4096);
        for (var b = 0; b < 3; b++)
        {
            batch.Reset();
            for (var r = 0; r < 4096; r++)
            {
                long code = rng.Next(20) switch
                {
                    0 => type == ColumnType.Int64 ? long.MinValue + rng.Next(3) : int.MinValue,
                    1 => type == ColumnType.Int64 ? long.MaxValue - rng.Next(3) : int.MaxValue,
                    2 => 4,
                    3 => 9,
                    4 => -3,
                    _ => rng.Next(-2, 9),
                };
                if (type == ColumnType.Int64) batch[0].Values<long>()[r] = code; else batch[0].Values<int>()[r] = (int)code;
                if (b == 2 && rng.Next(10) == 0) { batch[0].SetNull(r); missing++; continue; }
                expected[index.TryGetValue(code, out var i) ? i : categories.Length]++;
            }
            batch.Length = 4096;
            drift.Process(batch, StageContext.Standalone("drift"));
        }
        var feature = drift.GetReport().Features.Single();
        Assert.Equal(expected, feature.Counts);
        Assert.Equal(missing, feature.Missing);
    }

    [Fact]
    public void IntegerBatchesAllocateNothing()
    {
        var rng = new Random(9);
        var training = Enumerable.Range(0, 20_000).Select(_ => (double)rng.Next(0, 1_000_000)).ToArray();
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = 20 });
        builder.AddNumeric("v", training);
        builder.AddNumeric("w", training);
        var codes = new FeatureProfile
        {
            Name = "c", Kind = FeatureKind.Categorical, Count = 3, Categories = ["-1", "0", "1"], CategoryCounts = [1, 1, 1, 0],
        };
        var profile = new ReferenceProfile { Features = [.. builder.Build().Features, codes] };
        var drift = new DriftOperator(new DriftOptions { Profile = profile });
        var schema = new Schema(new Field("v", ColumnType.Int64), new Field("w", ColumnType.Int32), new Field("c", ColumnType.Int64));
        drift.Bind(schema);
        using var batch = new ColumnBatch(schema, 4096);
        for (var r = 0; r < 4096; r++)
        {
            batch[0].Values<long>()[r] = rng.Next(0, 1_000_000);
            batch[1].Values<int>()[r] = rng.Next(0, 1_000_000);
            batch[2].Values<long>()[r] = rng.Next(-2, 3);
        }
        batch.Length = 4096;
        var context = StageContext.Standalone("drift");
        drift.Process(batch, context);
        batch.Selection.Deselect(5); // the gathering path as well
        batch[1].SetNull(7);
        drift.Process(batch, context);
        var counted = drift.GetReport().Features[0].Count;
        var calls = 0;
        Assert.Equal(0, SteadyState.AllocatedBytes(() => { drift.Process(batch, context); calls++; }));
        Assert.Equal(counted + calls * (4096 - 1), drift.GetReport().Features[0].Count); // every batch was counted
    }

    private static ReferenceProfile Profile(double[] edges, long[] bins) => new()
    {
        Features = [new FeatureProfile
        {
            Name = "v", Kind = FeatureKind.Numeric, Count = bins.Sum(), Mean = 0, StdDev = 1, Min = -1, Max = 1,
            Edges = edges, BinCounts = bins, BinSums = [.. bins.Select(b => (double)b)],
        }],
    };

    private static long Int64Value(Random rng) => rng.Next(7) switch
    {
        0 => s_specials[rng.Next(s_specials.Length)],
        1 => rng.NextInt64(long.MinValue, long.MaxValue),
        2 => TwoTo53 + rng.Next(-50, 50),
        3 => (1L << 62) + rng.Next(0, 4096),
        4 => rng.Next(-2000, 2000),
        _ => rng.Next(-5, 25),
    };

    private static long Int32Value(Random rng) => rng.Next(5) switch
    {
        0 => rng.Next(2) == 0 ? int.MinValue : int.MaxValue,
        1 => rng.Next(int.MinValue, int.MaxValue),
        2 => rng.Next(-2000, 2000),
        _ => rng.Next(-5, 25),
    };

    /// <summary>Bin k holds the values with exactly k edges at or below them: a linear scan per value.</summary>
    private static long[] BinsByLinearScan(double[] values, double[] edges)
    {
        var bins = new long[edges.Length + 1];
        foreach (var v in values) bins[edges.Count(e => e <= v)]++;
        return bins;
    }

    /// <summary>KS between two binned distributions: the largest gap between their cumulative shares at an edge.</summary>
    private static double NaiveKs(long[] reference, long[] current)
    {
        double nr = reference.Sum(), nc = current.Sum(), cr = 0, cc = 0, ks = 0;
        for (var k = 0; k < reference.Length - 1; k++)
        {
            cr += reference[k];
            cc += current[k];
            ks = Math.Max(ks, Math.Abs(cr / nr - cc / nc));
        }
        return ks;
    }
}
