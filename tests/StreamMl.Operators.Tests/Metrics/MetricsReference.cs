namespace StreamMl.Operators.Tests.Metrics;

/// <summary>Batch computations over all pairs at once: what the streaming metrics must reproduce.</summary>
internal static class MetricsReference
{
    /// <summary>Exact ROC AUC: the share of (positive, negative) pairs where the positive scores higher, ties one half,
    /// by sorting the negatives and binary-searching each positive's score.</summary>
    public static double ExactAuc(IReadOnlyList<(double Score, bool Label)> pairs)
    {
        var negatives = pairs.Where(p => !p.Label).Select(p => p.Score).Order().ToArray();
        var positives = pairs.Where(p => p.Label).Select(p => p.Score).ToArray();
        double correct = 0;
        foreach (var s in positives)
        {
            var below = LowerBound(negatives, s);
            var atOrBelow = UpperBound(negatives, s);
            correct += below + 0.5 * (atOrBelow - below);
        }
        return correct / ((double)positives.Length * negatives.Length);
    }

    public static (long Tp, long Fp, long Tn, long Fn, double LogLoss) Confusion(IReadOnlyList<(double Score, bool Label)> pairs, double threshold)
    {
        long tp = pairs.Count(p => p.Label && p.Score >= threshold);
        long fp = pairs.Count(p => !p.Label && p.Score >= threshold);
        long tn = pairs.Count(p => !p.Label && p.Score < threshold);
        long fn = pairs.Count(p => p.Label && p.Score < threshold);
        var logLoss = pairs.Average(p =>
        {
            var q = Math.Min(Math.Max(p.Score, 1e-15), 1 - 1e-15);
            return p.Label ? -Math.Log(q) : -Math.Log(1 - q);
        });
        return (tp, fp, tn, fn, logLoss);
    }

    public static (double Rmse, double Mae, double R2) Regression(IReadOnlyList<(double Prediction, double Label)> pairs)
    {
        var mean = pairs.Average(p => p.Label);
        var sse = pairs.Sum(p => (p.Prediction - p.Label) * (p.Prediction - p.Label));
        var sst = pairs.Sum(p => (p.Label - mean) * (p.Label - mean));
        return (Math.Sqrt(sse / pairs.Count), pairs.Average(p => Math.Abs(p.Prediction - p.Label)), 1 - sse / sst);
    }

    private static int LowerBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi) { var mid = (lo + hi) / 2; if (sorted[mid] < x) lo = mid + 1; else hi = mid; }
        return lo;
    }

    private static int UpperBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi) { var mid = (lo + hi) / 2; if (sorted[mid] <= x) lo = mid + 1; else hi = mid; }
        return lo;
    }
}
