namespace StreamMl.Operators.Drift.Internal;

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

    /// <summary>Wasserstein-1 distance ∫|F_ref − F_cur| dx between the two distributions with each CDF taken as linear
    /// inside a bin (from the distribution's own minimum in the first bin to its own maximum in the last). Within
    /// bin k of width w_k the error is at most w_k·(p_k + q_k).</summary>
    public static double WassersteinCumulative(ReadOnlySpan<double> edges,
        ReadOnlySpan<long> refLess, long refTotal, double refMin, double refMax,
        ReadOnlySpan<long> curLess, long curTotal, double curMin, double curMax)
    {
        if (refTotal == 0 || curTotal == 0) return double.NaN;
        var a = new PiecewiseCdf(edges, refLess, refTotal, refMin, refMax);
        var b = new PiecewiseCdf(edges, curLess, curTotal, curMin, curMax);
        // Sweep the union of both knot sets; between two consecutive knots both CDFs are linear.
        var x = Math.Min(refMin, curMin);
        var end = Math.Max(refMax, curMax);
        var total = 0.0;
        while (x < end)
        {
            var next = Math.Min(a.NextKnotAfter(x), b.NextKnotAfter(x));
            if (next > end) next = end;
            var d0 = a.RightLimit(x) - b.RightLimit(x);
            var d1 = a.LeftLimit(next) - b.LeftLimit(next);
            total += (next - x) * AbsLinearIntegral(d0, d1);
            x = next;
        }
        return total;
    }

    /// <summary>Mean of |d| over an interval where d goes linearly from <paramref name="d0"/> to <paramref name="d1"/>.</summary>
    private static double AbsLinearIntegral(double d0, double d1)
    {
        if (d0 >= 0 == d1 >= 0) return 0.5 * Math.Abs(d0 + d1);
        var a0 = Math.Abs(d0);
        var a1 = Math.Abs(d1);
        return 0.5 * (a0 * a0 + a1 * a1) / (a0 + a1);
    }

    /// <summary>A CDF with knots (min, 0), (e_k, less_k / n) for edges inside (min, max], and (max, 1).</summary>
    private readonly ref struct PiecewiseCdf(ReadOnlySpan<double> edges, ReadOnlySpan<long> less, long total, double min, double max)
    {
        private readonly ReadOnlySpan<double> _edges = edges;
        private readonly ReadOnlySpan<long> _less = less;
        private readonly double _total = total;
        private readonly double _min = min;
        private readonly double _max = max;

        public double NextKnotAfter(double x)
        {
            if (x < _min) return _min;
            // Knots are the edges strictly inside (min, max] plus max itself.
            var lo = UpperBound(_edges, x);
            if (lo < _edges.Length && _edges[lo] <= _max) return _edges[lo];
            return x < _max ? _max : double.PositiveInfinity;
        }

        /// <summary>Value approached from the left at <paramref name="x"/>.</summary>
        public double LeftLimit(double x)
        {
            if (x <= _min) return 0;
            if (x > _max) return 1;
            // Knot just below x (or at x for the left limit of a knot with a jump: use the segment ending at x).
            var i = LowerBound(_edges, x); // edges[i - 1] < x <= edges[i]
            double x0, f0;
            if (i == 0 || _edges[i - 1] <= _min) { x0 = _min; f0 = 0; }
            else { x0 = _edges[i - 1]; f0 = _less[i - 1] / _total; }
            double x1, f1;
            if (i < _edges.Length && _edges[i] <= _max) { x1 = _edges[i]; f1 = _less[i] / _total; }
            else { x1 = _max; f1 = 1; }
            return x1 > x0 ? f0 + (f1 - f0) * (x - x0) / (x1 - x0) : f1;
        }

        /// <summary>Value approached from the right at <paramref name="x"/>.</summary>
        public double RightLimit(double x)
        {
            if (x < _min) return 0;
            if (x >= _max) return 1;
            var i = UpperBound(_edges, x); // edges[i - 1] <= x < edges[i]
            double x0, f0;
            if (i == 0 || _edges[i - 1] <= _min) { x0 = _min; f0 = 0; }
            else { x0 = _edges[i - 1]; f0 = _less[i - 1] / _total; }
            double x1, f1;
            if (i < _edges.Length && _edges[i] <= _max) { x1 = _edges[i]; f1 = _less[i] / _total; }
            else { x1 = _max; f1 = 1; }
            return x1 > x0 ? f0 + (f1 - f0) * (x - x0) / (x1 - x0) : f0;
        }
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
