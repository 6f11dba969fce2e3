using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Tests.Features;

/// <summary>Random columns (with nulls) for the pipeline property.</summary>
public sealed record PipelineCase(double?[] A, double?[] B, int[] Codes, int BatchSize, bool Simd)
{
    /// <inheritdoc/>
    public override string ToString() => $"rows={A.Length}, batch={BatchSize}, simd={Simd}";
}

/// <summary>Generators for <see cref="PipelineCase"/>.</summary>
public static class PipelineArbitraries
{
    private static Gen<double?> Cell => Gen.Frequency(
        (12, Gen.Choose(-100_000, 100_000).Select(i => (double?)(i / 37.0))),
        (1, Gen.Constant((double?)null)));

    /// <summary>The arbitrary FsCheck uses for <see cref="PipelineCase"/>.</summary>
    public static Arbitrary<PipelineCase> Case() => Arb.From(
        from rows in Gen.Choose(3, 300)
        from a in Gen.ArrayOf(Cell, rows)
        from b in Gen.ArrayOf(Cell, rows)
        from codes in Gen.ArrayOf(Gen.Choose(-1, 5), rows)
        from size in Gen.Elements(1, 7, 4096)
        from simd in Gen.Elements(true, false)
        from denseB in Gen.Elements(true, false)
        // A float32 column without nulls takes the deferred-load path (read in place by the first step).
        select new PipelineCase(a, denseB ? b.Select(v => (double?)(v ?? 0.5)).ToArray() : b, codes, size, simd));
}

/// <summary>A whole fitted pipeline, applied in batches of 1, 7 or 4096 rows with SIMD on or off, against a plain
/// per-row reference that applies each step's formula to the fitted parameters in double precision and rounds once
/// (tolerance 1e-4 relative: the pipeline rounds to float after each operation).</summary>
public sealed class FeaturePipelineProperties
{
    [Property(Arbitrary = [typeof(PipelineArbitraries)], MaxTest = 40)]
    public Property Batched_transform_equals_row_reference(PipelineCase c)
    {
        var rows = c.A.Length;
        var schema = new Schema(new Field("a", ColumnType.Float64), new Field("b", ColumnType.Float32), new Field("k", ColumnType.Int32));
        using var all = Fill(schema, c, 0, rows, Math.Max(rows, 1));
        if (Enumerable.Range(0, rows).Count(r => c.A[r] is not null && c.B[r] is not null) < 2) return true.ToProperty();
        var pipeline = FeaturePipeline.Create()
            .Impute("a", ImputeStrategy.Median).Clip("a", -1000f, 1000f).StandardScale("a")
            .ImputeConstant("b", 3f).RobustScale("b")
            .Bin("b", 4).Pca(["a", "b"], 2, keepInputs: true)
            .OneHot("k", maxCategories: 4)
            .Build().Fit([all]);
        var impute = (ImputeStep)pipeline.Steps[0];
        var scale = (StandardScaleStep)pipeline.Steps[2];
        var robust = (RobustScaleStep)pipeline.Steps[4];
        var bin = (BinStep)pipeline.Steps[5];
        var pca = (PcaStep)pipeline.Steps[6];
        var oneHot = (OneHotStep)pipeline.Steps[7];

        var output = pipeline.Bind(schema);
        var actual = new float[rows * pipeline.FeatureCount];
        FeatureKernels.ForceScalar = !c.Simd;
        try
        {
            for (var start = 0; start < rows; start += c.BatchSize)
            {
                var n = Math.Min(c.BatchSize, rows - start);
                using var batch = Fill(output, c, start, n, c.BatchSize);
                pipeline.TransformToMatrix(batch, actual.AsSpan(start * pipeline.FeatureCount));
            }
        }
        finally { FeatureKernels.ForceScalar = false; }

        var width = pipeline.FeatureCount;
        for (var r = 0; r < rows; r++)
        {
            double a = c.A[r] is { } va ? (float)va : impute.Value;
            a = Math.Clamp(a, -1000, 1000);
            a = scale.Std > 0 ? (a - scale.Mean) / scale.Std : a - scale.Mean;
            // Binning compares with edges that are themselves training values, so b must be rounded exactly as the
            // documented float32 formula (x - median) * (1 / range) rounds it, not computed in double.
            var bf = c.B[r] is { } vb ? (float)vb : 3f;
            double b = (bf - robust.Median) * (robust.Range > 0 ? 1f / robust.Range : 1f);
            var binned = bin.Edges.Count(e => (float)b >= e);
            var p0 = ((float)a - pca.Mean[0]) * (double)pca.Weights[0][0] + ((float)binned - pca.Mean[1]) * (double)pca.Weights[0][1];
            var p1 = ((float)a - pca.Mean[0]) * (double)pca.Weights[1][0] + ((float)binned - pca.Mean[1]) * (double)pca.Weights[1][1];
            var hot = Array.IndexOf(oneHot.IntegerCategories!, (long)c.Codes[r]);
            var expected = new List<double> { a, binned, p0, p1 };
            for (var k = 0; k < oneHot.Width; k++) expected.Add(k == (hot < 0 ? oneHot.Width - 1 : hot) ? 1 : 0);
            for (var f = 0; f < width; f++)
            {
                var got = actual[r * width + f];
                if (Math.Abs(got - expected[f]) > 1e-4 * Math.Max(1, Math.Abs(expected[f])))
                    return false.Label($"row {r} feature {pipeline.FeatureNames[f]}: expected {expected[f]}, got {got}");
            }
        }
        return true.ToProperty();
    }

    private static ColumnBatch Fill(Schema schema, PipelineCase c, int start, int rows, int capacity)
    {
        var batch = new ColumnBatch(schema, capacity);
        for (var i = 0; i < rows; i++)
        {
            if (c.A[start + i] is { } a) batch["a"].Values<double>()[i] = a; else batch["a"].SetNull(i);
            if (c.B[start + i] is { } b) batch["b"].Values<float>()[i] = (float)b; else batch["b"].SetNull(i);
            batch["k"].Values<int>()[i] = c.Codes[start + i];
        }
        batch.Length = rows;
        return batch;
    }
}
