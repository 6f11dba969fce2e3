namespace StreamMl.Recommendations.Serving;

/// <summary>The outcome of comparing two proportions (say the CTR of variant A and of variant B).</summary>
/// <param name="RateA">Successes over trials of A (NaN without trials).</param>
/// <param name="RateB">Successes over trials of B (NaN without trials).</param>
/// <param name="Z">The z statistic of B's rate minus A's, with the pooled standard error (0 when it is undefined).</param>
/// <param name="PValue">Two-sided p-value of <see cref="Z"/> under the standard normal (1 when undefined).</param>
public readonly record struct ProportionComparison(double RateA, double RateB, double Z, double PValue)
{
    /// <summary>True when <see cref="PValue"/> is below <paramref name="alpha"/>.</summary>
    public bool IsSignificant(double alpha = 0.05) => PValue < alpha;
}

/// <summary>Significance tests for A/B comparisons.</summary>
public static class SignificanceTest
{
    /// <summary>Two-proportion z-test with the pooled proportion: z = (pB − pA) / sqrt(p(1 − p)(1/nA + 1/nB)),
    /// p = (sA + sB) / (nA + nB); the p-value is two-sided.</summary>
    public static ProportionComparison TwoProportions(long successesA, long trialsA, long successesB, long trialsB)
    {
        if (successesA < 0 || successesB < 0 || successesA > trialsA || successesB > trialsB)
            throw new ArgumentException($"successes must be between 0 and the trials: A {successesA}/{trialsA}, B {successesB}/{trialsB}");
        var rateA = trialsA > 0 ? successesA / (double)trialsA : double.NaN;
        var rateB = trialsB > 0 ? successesB / (double)trialsB : double.NaN;
        if (trialsA == 0 || trialsB == 0) return new ProportionComparison(rateA, rateB, 0, 1);
        var pooled = (successesA + successesB) / (double)(trialsA + trialsB);
        var standardError = Math.Sqrt(pooled * (1 - pooled) * (1.0 / trialsA + 1.0 / trialsB));
        if (standardError == 0) return new ProportionComparison(rateA, rateB, 0, 1);
        var z = (rateB - rateA) / standardError;
        return new ProportionComparison(rateA, rateB, z, Math.Min(1, Erfc(Math.Abs(z) / Math.Sqrt(2))));
    }

    /// <summary>Wilson score interval of the proportion <paramref name="successes"/> / <paramref name="trials"/> at
    /// <paramref name="confidence"/>: (p + z²/2n ± z·sqrt(p(1 − p)/n + z²/4n²)) / (1 + z²/n), z the two-sided normal
    /// quantile. Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or n successes.</summary>
    public static (double Low, double High) WilsonInterval(long successes, long trials, double confidence = 0.95)
    {
        if (trials <= 0 || successes < 0 || successes > trials)
            throw new ArgumentException($"a proportion needs 0 <= successes <= trials and trials > 0, got {successes}/{trials}");
        var z = NormalQuantileTwoSided(confidence);
        var n = (double)trials;
        var p = successes / n;
        var z2 = z * z;
        var centre = p + z2 / (2 * n);
        var spread = z * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        var scale = 1 + z2 / n;
        return (Math.Max(0, (centre - spread) / scale), Math.Min(1, (centre + spread) / scale));
    }

    /// <summary>The z with P(|N(0,1)| ≤ z) = <paramref name="confidence"/> (1.959964 for 0.95), by bisection on
    /// <see cref="Erfc"/>.</summary>
    internal static double NormalQuantileTwoSided(double confidence)
    {
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "the confidence level must lie strictly between 0 and 1");
        double low = 0, high = 40;
        for (var i = 0; i < 200 && high - low > 1e-12; i++)
        {
            var middle = (low + high) / 2;
            if (Erfc(middle / Math.Sqrt(2)) > 1 - confidence) low = middle;
            else high = middle;
        }
        return (low + high) / 2;
    }

    /// <summary>The complementary error function, with fractional error below 1.2e-7 everywhere (the Chebyshev fit of
    /// Numerical Recipes, 6.2). P(|N(0,1)| ≥ x) = erfc(x / √2).</summary>
    internal static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
