using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StreamMl.Operators.Drift.Internal;

/// <summary>The per-batch update of one numeric feature held in an integer column, with the same meaning as
/// converting each value to double and binning it against the double edges, but binned by integer compares: each edge
/// <c>e</c> becomes the smallest integer <c>t</c> with <c>(double)t ≥ e</c>, so <c>(double)v &lt; e</c> exactly when
/// <c>v &lt; t</c>, also beyond 2^53 where the conversion rounds. Nothing allocates.</summary>
internal static class IntegerKernel
{
    /// <summary>Integer thresholds for ascending double <paramref name="edges"/>; <paramref name="reachable"/> is how many
    /// edges some long reaches: the edges after them lie above every long (beyond 2^63), so every value is below them.</summary>
    public static long[] Thresholds(ReadOnlySpan<double> edges, out int reachable)
    {
        var thresholds = new long[edges.Length];
        reachable = 0;
        foreach (var edge in edges)
        {
            if (!((double)long.MaxValue >= edge)) break;
            thresholds[reachable++] = SmallestAtOrAbove(edge);
        }
        return thresholds;
    }

    /// <summary>The smallest long whose double conversion is at least <paramref name="edge"/> (which some long reaches):
    /// a binary search over the whole range, since the conversion is monotonic but rounds to even beyond 2^53.</summary>
    private static long SmallestAtOrAbove(double edge)
    {
        long lo = long.MinValue, hi = long.MaxValue;
        while (lo < hi)
        {
            var mid = lo + (long)(unchecked((ulong)hi - (ulong)lo) / 2);
            if ((double)mid >= edge) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>Adds <paramref name="values"/> to <paramref name="moments"/> (in double, as the converted values),
    /// <paramref name="less"/> (<c>less[k] += #values below edge k</c>) and the tail sums. <paramref name="narrowScratch"/>
    /// (at least <c>values.Length</c> long to be used) holds the values as ints when they all fit.</summary>
    public static void Accumulate(ReadOnlySpan<long> values, ReadOnlySpan<double> edges, ReadOnlySpan<long> thresholds,
        int reachable, Span<long> less, ref RunningMoments moments, ref BinnedTails tails, Span<int> narrowScratch, SimdWidth width)
    {
        if (values.IsEmpty) return;
        if (width == SimdWidth.Scalar || !Vector256.IsHardwareAccelerated || values.Length < Vector256<long>.Count)
        {
            AccumulateScalar(values, edges, less, ref moments, ref tails);
            return;
        }

        // Pass 1: minimum and maximum as integers, the sum in double of the converted values.
        ref var start = ref MemoryMarshal.GetReference(values);
        var n = values.Length;
        var lastBlock = n - Vector256<long>.Count;
        var min = Vector256.Create(long.MaxValue);
        var max = Vector256.Create(long.MinValue);
        var sumV = Vector256<double>.Zero;
        var i = 0;
        for (; i <= lastBlock; i += Vector256<long>.Count)
        {
            var v = Vector256.LoadUnsafe(ref start, (nuint)i);
            min = Vector256.Min(min, v);
            max = Vector256.Max(max, v);
            sumV += Vector256.ConvertToDouble(v);
        }
        var sum = Vector256.Sum(sumV);
        long minS = long.MaxValue, maxS = long.MinValue;
        for (var k = 0; k < Vector256<long>.Count; k++)
        {
            minS = Math.Min(minS, min.GetElement(k));
            maxS = Math.Max(maxS, max.GetElement(k));
        }
        for (; i < n; i++)
        {
            var v = Unsafe.Add(ref start, i);
            sum += v;
            minS = Math.Min(minS, v);
            maxS = Math.Max(maxS, v);
        }

        // Pass 2: squared deviations from the batch mean (Chan's merge follows) and the tail sums, selected by the
        // integer compare against the first and last thresholds (all values when an edge lies beyond every long).
        var mean = sum / n;
        var meanV = Vector256.Create(mean);
        var m2V = Vector256<double>.Zero;
        var hasEdges = edges.Length > 0;
        var firstAll = hasEdges && reachable == 0;
        var lastAll = hasEdges && reachable < edges.Length;
        var firstT = hasEdges && !firstAll ? thresholds[0] : long.MinValue;
        var lastT = hasEdges && !lastAll ? thresholds[edges.Length - 1] : long.MinValue;
        var firstTV = Vector256.Create(firstT);
        var lastTV = Vector256.Create(lastT);
        var firstAllV = Vector256.Create(firstAll ? -1L : 0L).AsDouble();
        var lastAllV = Vector256.Create(lastAll ? -1L : 0L).AsDouble();
        var belowFirst = Vector256<double>.Zero;
        var belowLast = Vector256<double>.Zero;
        for (i = 0; i <= lastBlock; i += Vector256<long>.Count)
        {
            var v = Vector256.LoadUnsafe(ref start, (nuint)i);
            var x = Vector256.ConvertToDouble(v);
            var d = x - meanV;
            m2V = Vector256.FusedMultiplyAdd(d, d, m2V);
            belowFirst += x & (Vector256.LessThan(v, firstTV).AsDouble() | firstAllV);
            belowLast += x & (Vector256.LessThan(v, lastTV).AsDouble() | lastAllV);
        }
        var m2 = Vector256.Sum(m2V);
        var sumFirst = Vector256.Sum(belowFirst);
        var sumLast = Vector256.Sum(belowLast);
        for (; i < n; i++)
        {
            var v = Unsafe.Add(ref start, i);
            double x = v;
            var d = x - mean;
            m2 += d * d;
            if (firstAll || v < firstT) sumFirst += x;
            if (lastAll || v < lastT) sumLast += x;
        }
        moments.Merge(n, mean, m2, minS, maxS);
        if (hasEdges)
        {
            tails.SumBelowFirst += sumFirst;
            tails.SumBelowLast += sumLast;
        }

        // Pass 3: cumulative bin counts by integer compares. Thresholds at or below the batch minimum count nothing and
        // those above its maximum (with the edges beyond every long) count every value, so only the ones in between are
        // swept; a batch whose values all fit in int32 is swept as ints, 16 lanes per 512-bit compare instead of 8
        // (DriftIntegerCpuProbe in docs/BENCHMARKS.md).
        var first = 0;
        while (first < reachable && thresholds[first] <= minS) first++;
        var last = reachable;
        while (last > first && thresholds[last - 1] > maxS) last--;
        for (var e = last; e < edges.Length; e++) less[e] += n;
        if (first == last) return;
        if (width == SimdWidth.Vector512 && Vector512.IsHardwareAccelerated && n >= Vector512<int>.Count
            && minS >= int.MinValue && maxS <= int.MaxValue && narrowScratch.Length >= n)
        {
            ref var narrow = ref MemoryMarshal.GetReference(narrowScratch);
            Narrow(ref start, n, ref narrow);
            var covered = CountBelow512(ref narrow, n, thresholds[first..last], less[first..last]);
            CountTail(ref narrow, covered, n, thresholds[first..last], less[first..last]);
            return;
        }
        CountBelow(ref start, n, thresholds[first..last], less[first..last], width);
    }

    private static void Narrow(ref long start, int n, ref int destination)
    {
        var i = 0;
        for (; i + Vector512<int>.Count <= n; i += Vector512<int>.Count)
        {
            var lower = Vector512.LoadUnsafe(ref start, (nuint)i);
            var upper = Vector512.LoadUnsafe(ref start, (nuint)(i + Vector512<long>.Count));
            Vector512.Narrow(lower, upper).StoreUnsafe(ref destination, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref destination, i) = (int)Unsafe.Add(ref start, i);
    }

    /// <summary>Counts below thresholds that all lie inside the int range of the (narrowed) values, over the whole
    /// vectors of the first <paramref name="n"/>; returns how many values that covered (the rest: <see cref="CountTail{T}"/>).</summary>
    private static int CountBelow512(ref int start, int n, ReadOnlySpan<long> thresholds, Span<long> less)
    {
        var lastBlock = n - Vector512<int>.Count;
        var e = 0;
        for (; e + 4 <= thresholds.Length; e += 4)
        {
            int t0 = (int)thresholds[e], t1 = (int)thresholds[e + 1], t2 = (int)thresholds[e + 2], t3 = (int)thresholds[e + 3];
            var v0 = Vector512.Create(t0);
            var v1 = Vector512.Create(t1);
            var v2 = Vector512.Create(t2);
            var v3 = Vector512.Create(t3);
            Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
            for (var i = 0; i <= lastBlock; i += Vector512<int>.Count)
            {
                var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                c0 -= Vector512.LessThan(v, v0);
                c1 -= Vector512.LessThan(v, v1);
                c2 -= Vector512.LessThan(v, v2);
                c3 -= Vector512.LessThan(v, v3);
            }
            less[e] += Vector512.Sum(c0);
            less[e + 1] += Vector512.Sum(c1);
            less[e + 2] += Vector512.Sum(c2);
            less[e + 3] += Vector512.Sum(c3);
        }
        for (; e < thresholds.Length; e++)
        {
            var t = (int)thresholds[e];
            var tv = Vector512.Create(t);
            var c = Vector512<int>.Zero;
            for (var i = 0; i <= lastBlock; i += Vector512<int>.Count)
                c -= Vector512.LessThan(Vector512.LoadUnsafe(ref start, (nuint)i), tv);
            less[e] += Vector512.Sum(c);
        }
        return n - n % Vector512<int>.Count;
    }

    private static void CountBelow(ref long start, int n, ReadOnlySpan<long> thresholds, Span<long> less, SimdWidth width)
    {
        // As in the float kernel, the edge sweeps dominate, so they take 512-bit vectors where the CPU has them
        // (DriftIntegerBenchmarks in docs/BENCHMARKS.md), four edges per sweep so one load feeds four compares.
        var covered = width == SimdWidth.Vector512 && Vector512.IsHardwareAccelerated && n >= Vector512<long>.Count
            ? CountBelow512(ref start, n, thresholds, less)
            : CountBelow256(ref start, n, thresholds, less);
        CountTail(ref start, covered, n, thresholds, less);
    }

    /// <summary>Values <paramref name="from"/>..<paramref name="n"/> that the vector sweeps left, one by one.</summary>
    private static void CountTail<T>(ref T start, int from, int n, ReadOnlySpan<long> thresholds, Span<long> less)
        where T : unmanaged, IBinaryInteger<T>
    {
        for (var i = from; i < n; i++)
        {
            var v = long.CreateTruncating(Unsafe.Add(ref start, i));
            for (var e = 0; e < thresholds.Length; e++)
                if (v < thresholds[e]) less[e]++;
        }
    }

    private static int CountBelow256(ref long start, int n, ReadOnlySpan<long> thresholds, Span<long> less)
    {
        var lastBlock = n - Vector256<long>.Count;
        var e = 0;
        for (; e + 4 <= thresholds.Length; e += 4)
        {
            var t0 = Vector256.Create(thresholds[e]);
            var t1 = Vector256.Create(thresholds[e + 1]);
            var t2 = Vector256.Create(thresholds[e + 2]);
            var t3 = Vector256.Create(thresholds[e + 3]);
            Vector256<long> c0 = default, c1 = default, c2 = default, c3 = default;
            for (var i = 0; i <= lastBlock; i += Vector256<long>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                c0 -= Vector256.LessThan(v, t0);
                c1 -= Vector256.LessThan(v, t1);
                c2 -= Vector256.LessThan(v, t2);
                c3 -= Vector256.LessThan(v, t3);
            }
            less[e] += Vector256.Sum(c0);
            less[e + 1] += Vector256.Sum(c1);
            less[e + 2] += Vector256.Sum(c2);
            less[e + 3] += Vector256.Sum(c3);
        }
        for (; e < thresholds.Length; e++)
        {
            var t = Vector256.Create(thresholds[e]);
            var c = Vector256<long>.Zero;
            for (var i = 0; i <= lastBlock; i += Vector256<long>.Count)
                c -= Vector256.LessThan(Vector256.LoadUnsafe(ref start, (nuint)i), t);
            less[e] += Vector256.Sum(c);
        }
        return n - n % Vector256<long>.Count;
    }

    private static int CountBelow512(ref long start, int n, ReadOnlySpan<long> thresholds, Span<long> less)
    {
        var lastBlock = n - Vector512<long>.Count;
        var e = 0;
        for (; e + 4 <= thresholds.Length; e += 4)
        {
            var t0 = Vector512.Create(thresholds[e]);
            var t1 = Vector512.Create(thresholds[e + 1]);
            var t2 = Vector512.Create(thresholds[e + 2]);
            var t3 = Vector512.Create(thresholds[e + 3]);
            Vector512<long> c0 = default, c1 = default, c2 = default, c3 = default;
            for (var i = 0; i <= lastBlock; i += Vector512<long>.Count)
            {
                var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                c0 -= Vector512.LessThan(v, t0);
                c1 -= Vector512.LessThan(v, t1);
                c2 -= Vector512.LessThan(v, t2);
                c3 -= Vector512.LessThan(v, t3);
            }
            less[e] += Vector512.Sum(c0);
            less[e + 1] += Vector512.Sum(c1);
            less[e + 2] += Vector512.Sum(c2);
            less[e + 3] += Vector512.Sum(c3);
        }
        for (; e < thresholds.Length; e++)
        {
            var t = Vector512.Create(thresholds[e]);
            var c = Vector512<long>.Zero;
            for (var i = 0; i <= lastBlock; i += Vector512<long>.Count)
                c -= Vector512.LessThan(Vector512.LoadUnsafe(ref start, (nuint)i), t);
            less[e] += Vector512.Sum(c);
        }
        return n - n % Vector512<long>.Count;
    }

    /// <summary>Copies <paramref name="values"/> into <paramref name="destination"/> as longs; returns the filled part.</summary>
    public static ReadOnlySpan<long> Widen(ReadOnlySpan<int> values, Span<long> destination)
    {
        var n = values.Length;
        ref var from = ref MemoryMarshal.GetReference(values);
        ref var to = ref MemoryMarshal.GetReference(destination[..n]);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<int>.Count <= n; i += Vector256<int>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref from, (nuint)i));
                lo.StoreUnsafe(ref to, (nuint)i);
                hi.StoreUnsafe(ref to, (nuint)(i + Vector256<long>.Count));
            }
        }
        for (; i < n; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
        return destination[..n];
    }

    /// <summary>The plain path: each value converted to double, Welford per value, a binary search over the double
    /// edges. Also the path for short spans and machines without 256-bit vectors.</summary>
    public static void AccumulateScalar(ReadOnlySpan<long> values, ReadOnlySpan<double> edges, Span<long> less,
        ref RunningMoments moments, ref BinnedTails tails)
    {
        Span<long> bins = edges.Length <= 255 ? stackalloc long[edges.Length + 1] : new long[edges.Length + 1];
        bins.Clear();
        foreach (var value in values)
        {
            double v = value;
            moments.Add(v);
            var bin = NumericKernel.BinOf(edges, v);
            bins[bin]++;
            NumericKernel.AddTail(ref tails, bin, edges.Length, v);
        }
        NumericKernel.AddCumulative(bins, less);
    }
}
