using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Tests.Features;

/// <summary>Inputs for the kernel properties: a vector of 1, 7 or 4096 floats (with NaN and extremes mixed in), two
/// parameters, and whether the SIMD path is allowed.</summary>
public sealed record KernelCase(float[] Values, float A, float B, bool Simd)
{
    /// <inheritdoc/>
    public override string ToString() => $"n={Values.Length}, a={A}, b={B}, simd={Simd}";
}

/// <summary>Generators for <see cref="KernelCase"/>.</summary>
public static class KernelArbitraries
{
    private static Gen<float> Value => Gen.Frequency(
        (40, Gen.Choose(-2_000_000, 2_000_000).Select(i => i / 997f)),
        (2, Gen.Constant(float.NaN)),
        (1, Gen.Elements(0f, -0f, 1e30f, -1e30f, float.Epsilon, -1f)));

    private static Gen<float> Parameter => Gen.Choose(-50_000, 50_000).Select(i => i / 331f);

    /// <summary>The arbitrary FsCheck uses for <see cref="KernelCase"/>.</summary>
    public static Arbitrary<KernelCase> Case() => Arb.From(
        from size in Gen.Elements(1, 7, 4096)
        from values in Gen.ArrayOf(Value, size)
        from a in Parameter
        from b in Parameter
        from simd in Gen.Elements(true, false)
        select new KernelCase(values, a, b, simd));
}

/// <summary>Every feature kernel against a plain scalar loop written here, on the SIMD and the forced-scalar path.
/// Tolerance: exact (bit-identical) for the arithmetic kernels, since both paths perform the same IEEE operations;
/// 2 ulp-ish (relative 1e-6) for log1p, whose vector log is a polynomial approximation.</summary>
public sealed class FeatureKernelProperties
{
    private static T WithPath<T>(bool simd, Func<T> run)
    {
        FeatureKernels.ForceScalar = !simd;
        try { return run(); }
        finally { FeatureKernels.ForceScalar = false; }
    }

    private static bool SameBits(float[] expected, float[] actual) =>
        expected.Length == actual.Length && expected.Zip(actual).All(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second)
            || (float.IsNaN(p.First) && float.IsNaN(p.Second)));

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool ShiftScale_equals_scalar_reference(KernelCase c)
    {
        var expected = c.Values.Select(x => (x - c.A) * c.B).ToArray();
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.ShiftScale(actual, c.A, c.B); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool Out_of_place_kernels_equal_in_place_ones_and_leave_the_source_alone(KernelCase c)
    {
        var source = (float[])c.Values.Clone();
        var lo = Math.Min(c.A, c.B);
        var hi = Math.Max(c.A, c.B);
        float[] edges = [lo, hi];
        var ok = true;
        WithPath(c.Simd, () =>
        {
            void Check(Action<float[]> inPlace, Action<float[], float[]> outOfPlace)
            {
                var expected = (float[])c.Values.Clone();
                inPlace(expected);
                var actual = new float[c.Values.Length];
                outOfPlace(source, actual);
                ok &= SameBits(expected, actual) && SameBits(c.Values, source);
            }
            Check(x => FeatureKernels.ShiftScale(x, c.A, c.B), (x, y) => FeatureKernels.ShiftScale(x, y, c.A, c.B));
            Check(x => FeatureKernels.ReplaceNaN(x, c.A), (x, y) => FeatureKernels.ReplaceNaN(x, y, c.A));
            Check(x => FeatureKernels.Clip(x, lo, hi), (x, y) => FeatureKernels.Clip(x, y, lo, hi));
            Check(x => FeatureKernels.Log1p(x), (x, y) => FeatureKernels.Log1p(x, y));
            Check(x => FeatureKernels.Bin(x, edges), (x, y) => FeatureKernels.Bin(x, y, edges));
            return 0;
        });
        return ok;
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool ReplaceNaN_equals_scalar_reference(KernelCase c)
    {
        var expected = c.Values.Select(x => float.IsNaN(x) ? c.A : x).ToArray();
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.ReplaceNaN(actual, c.A); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool Clip_equals_scalar_reference(KernelCase c)
    {
        var lo = Math.Min(c.A, c.B);
        var hi = Math.Max(c.A, c.B);
        var expected = c.Values.Select(x => float.IsNaN(x) ? x : Math.Clamp(x, lo, hi)).ToArray();
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.Clip(actual, lo, hi); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public Property Log1p_is_within_1e6_relative_of_double_log(KernelCase c)
    {
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.Log1p(actual); return 0; });
        for (var i = 0; i < actual.Length; i++)
        {
            // Reference: the same float 1 + x, then the double logarithm rounded once.
            var onePlus = 1f + c.Values[i];
            var expected = (float)Math.Log(onePlus);
            var ok = float.IsNaN(expected) ? float.IsNaN(actual[i])
                : float.IsInfinity(expected) ? expected == actual[i]
                : Math.Abs(expected - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected));
            if (!ok) return false.Label($"x={c.Values[i]} expected {expected} got {actual[i]}");
        }
        return true.ToProperty();
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool Bin_counts_edges_at_or_below(KernelCase c)
    {
        var edges = new[] { c.A, c.B, c.A + 1, -3f, 17.5f }.Distinct().Order().ToArray();
        var expected = c.Values.Select(x => float.IsNaN(x) ? float.NaN : (float)edges.Count(e => x >= e)).ToArray();
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.Bin(actual, edges); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool AccumulateCentered_equals_scalar_reference(KernelCase c)
    {
        var start = c.Values.Select((x, i) => i * 0.5f).ToArray();
        var expected = start.Select((s, i) => s + (c.Values[i] - c.A) * c.B).ToArray();
        var actual = (float[])start.Clone();
        WithPath(c.Simd, () => { FeatureKernels.AccumulateCentered(actual, c.Values, c.A, c.B); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 40)]
    public bool Conversions_equal_casts(KernelCase c)
    {
        var doubles = c.Values.Select((x, i) => x * 1.0000001 + i).ToArray();
        var ints = c.Values.Select(x => float.IsNaN(x) ? 0 : (int)Math.Clamp(x, -1e9f, 1e9f)).ToArray();
        var fromDoubles = new float[doubles.Length];
        var fromInts = new float[ints.Length];
        WithPath(c.Simd, () =>
        {
            FeatureKernels.Convert(doubles, fromDoubles);
            FeatureKernels.Convert(ints, fromInts);
            return 0;
        });
        return SameBits(doubles.Select(d => (float)d).ToArray(), fromDoubles) && SameBits(ints.Select(i => (float)i).ToArray(), fromInts);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public bool ApplyNulls_sets_exactly_the_null_rows_to_NaN(KernelCase c)
    {
        // Null where the generated value is NaN or below A: long valid runs and scattered nulls both occur.
        var valid = c.Values.Select(v => !float.IsNaN(v) && v >= c.A).ToArray();
        var bitmap = new byte[(valid.Length + 7) / 8 + 8];
        for (var i = 0; i < valid.Length; i++) if (valid[i]) bitmap[i >> 3] |= (byte)(1 << (i & 7));
        var expected = c.Values.Select((v, i) => valid[i] ? v : float.NaN).ToArray();
        var actual = (float[])c.Values.Clone();
        WithPath(c.Simd, () => { FeatureKernels.ApplyNulls(bitmap, actual); return 0; });
        return SameBits(expected, actual);
    }

    [Property(Arbitrary = [typeof(KernelArbitraries)], MaxTest = 60)]
    public unsafe bool Interleave_writes_row_major(KernelCase c)
    {
        var n = c.Values.Length;
        // Widths below, at and above the 8-column transpose blocks.
        var width = 1 + (int)Math.Abs(c.A) % 20;
        var columns = Enumerable.Range(0, width).Select(k => c.Values.Select(v => v + k).ToArray()).ToArray();
        var handles = columns.Select(col => System.Runtime.InteropServices.GCHandle.Alloc(col, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        try
        {
            var pointers = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            var matrix = new float[n * width];
            WithPath(c.Simd, () => { FeatureKernels.Interleave(pointers, n, matrix); return 0; });
            var expected = Enumerable.Range(0, n).SelectMany(r => columns.Select(col => col[r])).ToArray();
            return SameBits(expected, matrix);
        }
        finally { foreach (var h in handles) h.Free(); }
    }
}
