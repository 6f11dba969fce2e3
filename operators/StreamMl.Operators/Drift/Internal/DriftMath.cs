namespace StreamMl.Operators.Drift.Internal;

/// <summary>What the Wasserstein estimate needs beyond bin counts: the sums of all values, of those below the first edge
/// and of those below the last edge.</summary>
internal record struct BinnedTails(double Sum, double SumBelowFirst, double SumBelowLast);

/// <summary>Distances between a reference and a current distribution given as counts over the same bins. Numeric
/// features pass cumulative counts: <c>less[k]</c> is the number of values below edge <c>k</c>, so bin 0 is
/// (−∞, e0), bin k is [e(k−1), e(k)) and the last bin is [e(last), +∞). Nothing here allocates.</summary>
internal static class DriftMath
{
    /// <summary>Count in bin <paramref name="bin"/> from cumulative counts over <c>less.Length</c> edges and a total.</summary>
    public static long BinCount(ReadOnlySpan<long> less, long total, int bin)
    {
        var upper = bin < less.Length ? less[bin] : total;
        var lower = bin == 0 ? 0 : less[bin - 1];
        return upper - lower;
    }

    /// <summary>Population stability index Σ (q − p)·ln(q / p) over bins, with each probability floored at
    /// <paramref name="floor"/> so that an empty bin gives a large but finite term.</summary>
    public static double PsiCumulative(ReadOnlySpan<long> refLess, long refTotal, ReadOnlySpan<long> curLess, long curTotal, double floor)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var psi = 0.0;
        for (var k = 0; k <= refLess.Length; k++)
        {
            var p = Math.Max((double)BinCount(refLess, refTotal, k) / refTotal, floor);
            var q = Math.Max((double)BinCount(curLess, curTotal, k) / curTotal, floor);
            psi += (q - p) * Math.Log(q / p);
        }
        return psi;
    }

    /// <summary>PSI over plain bin counts (categories).</summary>
    public static double Psi(ReadOnlySpan<long> refCounts, long refTotal, ReadOnlySpan<long> curCounts, long curTotal, double floor)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var psi = 0.0;
        for (var k = 0; k < refCounts.Length; k++)
        {
            var p = Math.Max((double)refCounts[k] / refTotal, floor);
            var q = Math.Max((double)curCounts[k] / curTotal, floor);
            psi += (q - p) * Math.Log(q / p);
        }
        return psi;
    }

    /// <summary>Jensen–Shannon divergence in bits (between 0 and 1) over cumulative counts.</summary>
    public static double JensenShannonCumulative(ReadOnlySpan<long> refLess, long refTotal, ReadOnlySpan<long> curLess, long curTotal)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var js = 0.0;
        for (var k = 0; k <= refLess.Length; k++)
            js += JsTerm((double)BinCount(refLess, refTotal, k) / refTotal, (double)BinCount(curLess, curTotal, k) / curTotal);
        return Math.Max(0, js);
    }

    /// <summary>Jensen–Shannon divergence in bits over plain bin counts.</summary>
    public static double JensenShannon(ReadOnlySpan<long> refCounts, long refTotal, ReadOnlySpan<long> curCounts, long curTotal)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var js = 0.0;
        for (var k = 0; k < refCounts.Length; k++)
            js += JsTerm((double)refCounts[k] / refTotal, (double)curCounts[k] / curTotal);
        return Math.Max(0, js);
    }

    private static double JsTerm(double p, double q)
    {
        var m = 0.5 * (p + q);
        var term = 0.0;
        if (p > 0) term += 0.5 * p * Math.Log2(p / m);
        if (q > 0) term += 0.5 * q * Math.Log2(q / m);
        return term;
    }

    /// <summary>Two-sample Kolmogorov–Smirnov statistic evaluated at the bin edges: max over k of
    /// |F_ref(e_k⁻) − F_cur(e_k⁻)|. It never exceeds the exact statistic and falls short of it by at most
    /// max over bins of min(p_k, q_k) (both CDFs are monotone inside a bin).</summary>
    public static double KsCumulative(ReadOnlySpan<long> refLess, long refTotal, ReadOnlySpan<long> curLess, long curTotal)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var ks = 0.0;
        for (var k = 0; k < refLess.Length; k++)
            ks = Math.Max(ks, Math.Abs((double)refLess[k] / refTotal - (double)curLess[k] / curTotal));
        return ks;
    }

    /// <summary>Wasserstein-1 distance ∫|F_ref − F_cur| dx from binned distributions. Inside a bounded bin each CDF
    /// is taken as linear between its values at the edges. The two unbounded end bins (which hold the tails, often
    /// far wider than the rest) use the sum of the values below the first edge and below the last edge instead:
    /// ∫F over an end bin follows exactly from its count and sum, so only a sign change of F_ref − F_cur inside the
    /// bin costs accuracy. Either way the error in bin k is at most w_k·(p_k + q_k), w_k its width within
    /// [min(mins), max(maxes)].</summary>
    public static double WassersteinCumulative(ReadOnlySpan<double> edges,
        ReadOnlySpan<long> refLess, long refTotal, in BinnedTails refTails,
        ReadOnlySpan<long> curLess, long curTotal, in BinnedTails curTails)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        if (edges.IsEmpty) return Math.Abs(refTails.Sum / refTotal - curTails.Sum / curTotal);
        var total = 0.0;
        for (var k = 1; k < edges.Length; k++)
        {
            var d0 = (double)refLess[k - 1] / refTotal - (double)curLess[k - 1] / curTotal;
            var d1 = (double)refLess[k] / refTotal - (double)curLess[k] / curTotal;
            total += (edges[k] - edges[k - 1]) * AbsLinearIntegral(d0, d1);
        }
        var first = edges[0];
        var last = edges[^1];
        // ∫_lo^e0 F = Σ_{v<e0} (e0 − v) / n
        var lowRef = (refLess[0] * first - refTails.SumBelowFirst) / refTotal;
        var lowCur = (curLess[0] * first - curTails.SumBelowFirst) / curTotal;
        // ∫_eLast^hi F = Σ_v (hi − max(v, eLast)) / n = hi − (less·eLast + Σ_{v≥eLast} v) / n; hi cancels in the difference.
        var highRef = (refLess[^1] * last + (refTails.Sum - refTails.SumBelowLast)) / refTotal;
        var highCur = (curLess[^1] * last + (curTails.Sum - curTails.SumBelowLast)) / curTotal;
        return total + Math.Abs(lowRef - lowCur) + Math.Abs(highRef - highCur);
    }

    /// <summary>Mean of |d| over an interval where d goes linearly from <paramref name="d0"/> to <paramref name="d1"/>.</summary>
    private static double AbsLinearIntegral(double d0, double d1)
    {
        if (d0 >= 0 == d1 >= 0) return 0.5 * Math.Abs(d0 + d1);
        var a0 = Math.Abs(d0);
        var a1 = Math.Abs(d1);
        return 0.5 * (a0 * a0 + a1 * a1) / (a0 + a1);
    }

    /// <summary>Number of elements below <paramref name="x"/> in sorted <paramref name="sorted"/>.</summary>
    public static int LowerBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Number of elements at or below <paramref name="x"/> in sorted <paramref name="sorted"/>.</summary>
    public static int UpperBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Pearson's chi-square statistic of current counts against reference proportions, and its p-value.
    /// Reference proportions get half a count per bucket (Jeffreys smoothing) so that a category the reference never
    /// saw has a small positive expectation instead of a division by zero.</summary>
    public static (double Statistic, int DegreesOfFreedom, double PValue) ChiSquare(ReadOnlySpan<long> refCounts, long refTotal,
        ReadOnlySpan<long> curCounts, long curTotal)
    {
        if (refTotal == 0 || curTotal == 0 || refCounts.Length < 2) return (double.NaN, 0, double.NaN);
        var denominator = refTotal + 0.5 * refCounts.Length;
        var statistic = 0.0;
        for (var k = 0; k < refCounts.Length; k++)
        {
            var expected = curTotal * (refCounts[k] + 0.5) / denominator;
            var diff = curCounts[k] - expected;
            statistic += diff * diff / expected;
        }
        var dof = refCounts.Length - 1;
        return (statistic, dof, SpecialFunctions.ChiSquareSurvival(statistic, dof));
    }
}
