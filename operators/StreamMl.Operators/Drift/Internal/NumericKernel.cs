using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StreamMl.Operators.Drift.Internal;

/// <summary>Widest vectors the kernel may use; tests run every width the machine has against the scalar path.</summary>
internal enum SimdWidth
{
    /// <summary>The scalar reference path.</summary>
    Scalar = 0,
    /// <summary>256-bit vectors.</summary>
    Vector256 = 256,
    /// <summary>512-bit vectors for the edge sweeps when the CPU has them, 256-bit elsewhere.</summary>
    Vector512 = 512,
}

/// <summary>The per-batch update of one numeric feature: moments (count, mean, M2, min, max) and, for each reference
/// bin edge, how many values fall below it. Missing values (NaN, ±∞) are counted apart. Nothing allocates.</summary>
internal static class NumericKernel
{
    /// <summary>Adds the values of <paramref name="values"/> to <paramref name="moments"/> and
    /// <paramref name="less"/> (<c>less[k] += #values &lt; edges[k]</c>); returns the number of non-finite values.
    /// <paramref name="tails"/> gains the sums of the values below the first and below the last edge (for Wasserstein).
    /// <paramref name="scratch"/> (at least <c>values.Length</c> long) holds the finite values when some are not.</summary>
    public static int Accumulate(ReadOnlySpan<float> values, ReadOnlySpan<float> edges, Span<long> less,
        ref RunningMoments moments, ref BinnedTails tails, Span<float> scratch, SimdWidth width)
    {
        if (values.IsEmpty) return 0;
        if (width == SimdWidth.Scalar || !Vector256.IsHardwareAccelerated || values.Length < Vector256<float>.Count)
            return AccumulateScalar(values, edges, less, ref moments, ref tails);

        // Pass 1: sum (in double), min, max and a count of non-finite values. x - x is NaN exactly when x is
        // NaN or infinite, so one subtraction and one self-comparison find them.
        ref var start = ref MemoryMarshal.GetReference(values);
        var n = values.Length;
        var lastBlock = n - Vector256<float>.Count;
        var sumLo = Vector256<double>.Zero;
        var sumHi = Vector256<double>.Zero;
        var min = Vector256.Create(float.PositiveInfinity);
        var max = Vector256.Create(float.NegativeInfinity);
        var bad = Vector256<int>.Zero;
        var i = 0;
        for (; i <= lastBlock; i += Vector256<float>.Count)
        {
            var v = Vector256.LoadUnsafe(ref start, (nuint)i);
            var (lo, hi) = Vector256.Widen(v);
            sumLo += lo;
            sumHi += hi;
            min = Vector256.Min(min, v);
            max = Vector256.Max(max, v);
            var diff = v - v;
            bad -= (~Vector256.Equals(diff, diff)).AsInt32();
        }
        double sum = Vector256.Sum(sumLo) + Vector256.Sum(sumHi);
        var badCount = Vector256.Sum(bad);
        float minS = float.PositiveInfinity, maxS = float.NegativeInfinity;
        for (var k = 0; k < Vector256<float>.Count; k++)
        {
            minS = Math.Min(minS, min.GetElement(k));
            maxS = Math.Max(maxS, max.GetElement(k));
        }
        for (; i < n; i++)
        {
            var v = Unsafe.Add(ref start, i);
            if (!float.IsFinite(v)) { badCount++; continue; }
            sum += v;
            if (v < minS) minS = v;
            if (v > maxS) maxS = v;
        }

        if (badCount > 0)
        {
            // Rare: drop the missing values into scratch and run again on finite values only.
            var kept = 0;
            foreach (var v in values)
                if (float.IsFinite(v)) scratch[kept++] = v;
            Accumulate(scratch[..kept], edges, less, ref moments, ref tails, scratch, width);
            return badCount;
        }

        // Pass 2 (the batch is now in L1/L2): squared deviations from the batch mean, then Chan's merge. Two passes
        // over a block cost less than a per-value Welford division and are as accurate. The same widened values
        // feed the tail sums; comparing in double against the float edges gives the same answer as in float.
        var mean = sum / n;
        var meanV = Vector256.Create(mean);
        var m2Lo = Vector256<double>.Zero;
        var m2Hi = Vector256<double>.Zero;
        var firstEdge = edges.IsEmpty ? double.NegativeInfinity : edges[0];
        var lastEdge = edges.IsEmpty ? double.NegativeInfinity : edges[^1];
        var firstV = Vector256.Create(firstEdge);
        var lastV = Vector256.Create(lastEdge);
        var belowFirst = Vector256<double>.Zero;
        var belowLast = Vector256<double>.Zero;
        for (i = 0; i <= lastBlock; i += Vector256<float>.Count)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)i));
            var dLo = lo - meanV;
            var dHi = hi - meanV;
            m2Lo = Vector256.FusedMultiplyAdd(dLo, dLo, m2Lo);
            m2Hi = Vector256.FusedMultiplyAdd(dHi, dHi, m2Hi);
            belowFirst += (lo & Vector256.LessThan(lo, firstV)) + (hi & Vector256.LessThan(hi, firstV));
            belowLast += (lo & Vector256.LessThan(lo, lastV)) + (hi & Vector256.LessThan(hi, lastV));
        }
        var m2 = Vector256.Sum(m2Lo) + Vector256.Sum(m2Hi);
        var sumFirst = Vector256.Sum(belowFirst);
        var sumLast = Vector256.Sum(belowLast);
        for (; i < n; i++)
        {
            double v = Unsafe.Add(ref start, i);
            var d = v - mean;
            m2 += d * d;
            if (v < firstEdge) sumFirst += v;
            if (v < lastEdge) sumLast += v;
        }
        moments.Merge(n, mean, m2, minS, maxS);
        tails.SumBelowFirst += sumFirst;
        tails.SumBelowLast += sumLast;

        // Pass 3: cumulative bin counts, four edges per sweep so each loaded vector feeds four compares while the
        // four counters stay in registers.
        CountBelow(ref start, n, edges, less, width);
        return 0;
    }

    private static void CountBelow(ref float start, int n, ReadOnlySpan<float> edges, Span<long> less, SimdWidth width)
    {
        // The edge sweeps dominate the kernel's cost, so they use 512-bit vectors where the CPU has them
        // (DriftUpdateBenchmarks: see docs/BENCHMARKS.md for the before/after).
        if (width == SimdWidth.Vector512 && Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            CountBelow512(ref start, n, edges, less);
            return;
        }
        var lastBlock = n - Vector256<float>.Count;
        var e = 0;
        for (; e + 4 <= edges.Length; e += 4)
        {
            var e0 = Vector256.Create(edges[e]);
            var e1 = Vector256.Create(edges[e + 1]);
            var e2 = Vector256.Create(edges[e + 2]);
            var e3 = Vector256.Create(edges[e + 3]);
            Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default;
            var i = 0;
            for (; i <= lastBlock; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                c0 -= Vector256.LessThan(v, e0).AsInt32();
                c1 -= Vector256.LessThan(v, e1).AsInt32();
                c2 -= Vector256.LessThan(v, e2).AsInt32();
                c3 -= Vector256.LessThan(v, e3).AsInt32();
            }
            long s0 = Vector256.Sum(c0), s1 = Vector256.Sum(c1), s2 = Vector256.Sum(c2), s3 = Vector256.Sum(c3);
            for (; i < n; i++)
            {
                var v = Unsafe.Add(ref start, i);
                if (v < edges[e]) s0++;
                if (v < edges[e + 1]) s1++;
                if (v < edges[e + 2]) s2++;
                if (v < edges[e + 3]) s3++;
            }
            less[e] += s0;
            less[e + 1] += s1;
            less[e + 2] += s2;
            less[e + 3] += s3;
        }
        for (; e < edges.Length; e++)
        {
            var edge = Vector256.Create(edges[e]);
            var c = Vector256<int>.Zero;
            var i = 0;
            for (; i <= lastBlock; i += Vector256<float>.Count)
                c -= Vector256.LessThan(Vector256.LoadUnsafe(ref start, (nuint)i), edge).AsInt32();
            long s = Vector256.Sum(c);
            for (; i < n; i++)
                if (Unsafe.Add(ref start, i) < edges[e]) s++;
            less[e] += s;
        }
    }

    private static void CountBelow512(ref float start, int n, ReadOnlySpan<float> edges, Span<long> less)
    {
        var lastBlock = n - Vector512<float>.Count;
        var e = 0;
        for (; e + 4 <= edges.Length; e += 4)
        {
            var e0 = Vector512.Create(edges[e]);
            var e1 = Vector512.Create(edges[e + 1]);
            var e2 = Vector512.Create(edges[e + 2]);
            var e3 = Vector512.Create(edges[e + 3]);
            Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
            var i = 0;
            for (; i <= lastBlock; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                c0 -= Vector512.LessThan(v, e0).AsInt32();
                c1 -= Vector512.LessThan(v, e1).AsInt32();
                c2 -= Vector512.LessThan(v, e2).AsInt32();
                c3 -= Vector512.LessThan(v, e3).AsInt32();
            }
            long s0 = Vector512.Sum(c0), s1 = Vector512.Sum(c1), s2 = Vector512.Sum(c2), s3 = Vector512.Sum(c3);
            for (; i < n; i++)
            {
                var v = Unsafe.Add(ref start, i);
                if (v < edges[e]) s0++;
                if (v < edges[e + 1]) s1++;
                if (v < edges[e + 2]) s2++;
                if (v < edges[e + 3]) s3++;
            }
            less[e] += s0;
            less[e + 1] += s1;
            less[e + 2] += s2;
            less[e + 3] += s3;
        }
        for (; e < edges.Length; e++)
        {
            var edge = Vector512.Create(edges[e]);
            var c = Vector512<int>.Zero;
            var i = 0;
            for (; i <= lastBlock; i += Vector512<float>.Count)
                c -= Vector512.LessThan(Vector512.LoadUnsafe(ref start, (nuint)i), edge).AsInt32();
            long s = Vector512.Sum(c);
            for (; i < n; i++)
                if (Unsafe.Add(ref start, i) < edges[e]) s++;
            less[e] += s;
        }
    }

    /// <summary>The plain reference: Welford per value and a binary search for the bin. Also the path for short
    /// spans and machines without 256-bit vectors.</summary>
    public static int AccumulateScalar(ReadOnlySpan<float> values, ReadOnlySpan<float> edges, Span<long> less,
        ref RunningMoments moments, ref BinnedTails tails)
    {
        var missing = 0;
        Span<long> bins = edges.Length <= 255 ? stackalloc long[edges.Length + 1] : new long[edges.Length + 1];
        bins.Clear();
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) { missing++; continue; }
            moments.Add(v);
            var bin = BinOf(edges, v);
            bins[bin]++;
            AddTail(ref tails, bin, edges.Length, v);
        }
        AddCumulative(bins, less);
        return missing;
    }

    /// <summary>Adds <paramref name="value"/>, which fell in <paramref name="bin"/>, to the tail sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTail(ref BinnedTails tails, int bin, int edgeCount, double value)
    {
        if (edgeCount == 0) return;
        if (bin == 0) tails.SumBelowFirst += value;
        if (bin < edgeCount) tails.SumBelowLast += value;
    }

    /// <summary>Number of edges at or below <paramref name="value"/>, i.e. the index of its bin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BinOf(ReadOnlySpan<float> edges, float value)
    {
        int lo = 0, hi = edges.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (edges[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Number of edges at or below <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BinOf(ReadOnlySpan<double> edges, double value) => DriftMath.UpperBound(edges, value);

    /// <summary>Adds per-bin counts to cumulative below-edge counts.</summary>
    public static void AddCumulative(ReadOnlySpan<long> bins, Span<long> less)
    {
        long running = 0;
        for (var k = 0; k < less.Length; k++)
        {
            running += bins[k];
            less[k] += running;
        }
    }

    /// <summary>The smallest float at or above <paramref name="edge"/>: for any float v, v &lt; edge (compared in
    /// double) exactly when v &lt; RoundUp(edge) (compared in float), so float batches can be binned in float.</summary>
    public static float RoundUp(double edge)
    {
        var f = (float)edge;
        if (f < edge) f = MathF.BitIncrement(f);
        return f;
    }
}
