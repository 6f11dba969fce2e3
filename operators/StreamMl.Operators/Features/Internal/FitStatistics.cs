namespace StreamMl.Operators.Features.Internal;

/// <summary>Exact statistics over a fitted column, ignoring NaN (missing) values. Sums run in float64 so a million
/// rows lose no precision that float32 parameters could show.</summary>
internal static class FitStatistics
{
    public static (double Mean, double Std, long Count) MeanStd(ReadOnlySpan<float> x)
    {
        double sum = 0;
        long n = 0;
        foreach (var v in x)
        {
            if (float.IsNaN(v)) continue;
            sum += v;
            n++;
        }
        if (n == 0) return (0, 0, 0);
        var mean = sum / n;
        double ss = 0;
        foreach (var v in x)
        {
            if (float.IsNaN(v)) continue;
            var d = v - mean;
            ss += d * d;
        }
        // Population deviation (ddof = 0), as scikit-learn's StandardScaler.
        return (mean, Math.Sqrt(ss / n), n);
    }

    public static (float Min, float Max) MinMax(ReadOnlySpan<float> x)
    {
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in x)
        {
            if (float.IsNaN(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return float.IsPositiveInfinity(min) ? (0f, 0f) : (min, max);
    }

    /// <summary>The non-missing values, sorted ascending.</summary>
    public static double[] Sorted(ReadOnlySpan<float> x)
    {
        var count = 0;
        foreach (var v in x) if (!float.IsNaN(v)) count++;
        var sorted = new double[count];
        var i = 0;
        foreach (var v in x) if (!float.IsNaN(v)) sorted[i++] = v;
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>Quantile <paramref name="q"/> in [0, 1] with linear interpolation between order statistics
    /// (NumPy's default "linear" method); 0 for an empty column.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return 0;
        var position = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        var fraction = position - lo;
        return sorted[lo] + (sorted[hi] - sorted[lo]) * fraction;
    }
}
