namespace StreamMl.Operators.Tests.Drift;

/// <summary>Plain, obviously-correct computations on whole sorted samples: the references the binned, streaming
/// statistics are checked against.</summary>
internal static class ExactReference
{
    /// <summary>Two-pass mean and sample variance.</summary>
    public static (double Mean, double Variance) TwoPass(IReadOnlyList<double> xs)
    {
        var mean = xs.Sum() / xs.Count;
        var m2 = xs.Sum(x => (x - mean) * (x - mean));
        return (mean, xs.Count > 1 ? m2 / (xs.Count - 1) : double.NaN);
    }

    /// <summary>Exact two-sample KS statistic: the largest gap between the empirical CDFs, checked at every sample point.</summary>
    public static double Ks(double[] a, double[] b)
    {
        var x = a.OrderBy(v => v).ToArray();
        var y = b.OrderBy(v => v).ToArray();
        int i = 0, j = 0;
        var d = 0.0;
        while (i < x.Length || j < y.Length)
        {
            var t = Math.Min(i < x.Length ? x[i] : double.PositiveInfinity, j < y.Length ? y[j] : double.PositiveInfinity);
            while (i < x.Length && x[i] <= t) i++;
            while (j < y.Length && y[j] <= t) j++;
            d = Math.Max(d, Math.Abs((double)i / x.Length - (double)j / y.Length));
        }
        return d;
    }

    /// <summary>Exact Wasserstein-1 between two samples: ∫|F_a − F_b| over the merged sorted points.</summary>
    public static double Wasserstein(double[] a, double[] b)
    {
        var x = a.OrderBy(v => v).ToArray();
        var y = b.OrderBy(v => v).ToArray();
        var all = x.Concat(y).OrderBy(v => v).ToArray();
        int i = 0, j = 0;
        var total = 0.0;
        for (var k = 0; k < all.Length - 1; k++)
        {
            while (i < x.Length && x[i] <= all[k]) i++;
            while (j < y.Length && y[j] <= all[k]) j++;
            total += Math.Abs((double)i / x.Length - (double)j / y.Length) * (all[k + 1] - all[k]);
        }
        return total;
    }

    /// <summary>Bin counts of a sample for edges (bin k = [e(k−1), e(k))), by sorting and counting.</summary>
    public static long[] BinCounts(double[] sample, double[] edges)
    {
        var sorted = sample.OrderBy(v => v).ToArray();
        var counts = new long[edges.Length + 1];
        var k = 0;
        foreach (var v in sorted)
        {
            while (k < edges.Length && v >= edges[k]) k++;
            counts[k]++;
        }
        return counts;
    }

    /// <summary>PSI from its definition on two count vectors, with probabilities floored at <paramref name="floor"/>.</summary>
    public static double Psi(long[] reference, long[] current, double floor)
    {
        double nr = reference.Sum(), nc = current.Sum();
        var psi = 0.0;
        for (var k = 0; k < reference.Length; k++)
        {
            var p = Math.Max(reference[k] / nr, floor);
            var q = Math.Max(current[k] / nc, floor);
            psi += (q - p) * Math.Log(q / p);
        }
        return psi;
    }

    /// <summary>Jensen–Shannon divergence in bits as KL(p‖m)/2 + KL(q‖m)/2.</summary>
    public static double JensenShannon(long[] reference, long[] current)
    {
        double nr = reference.Sum(), nc = current.Sum();
        double kl1 = 0, kl2 = 0;
        for (var k = 0; k < reference.Length; k++)
        {
            var p = reference[k] / nr;
            var q = current[k] / nc;
            var m = (p + q) / 2;
            if (p > 0) kl1 += p * Math.Log(p / m, 2);
            if (q > 0) kl2 += q * Math.Log(q / m, 2);
        }
        return (kl1 + kl2) / 2;
    }
}
