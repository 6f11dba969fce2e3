namespace StreamMl.Operators.Drift.Internal;

/// <summary>The gamma-function pieces a chi-square p-value needs.</summary>
internal static class SpecialFunctions
{
    // Lanczos approximation with g = 7 and nine terms: about 15 significant digits for arguments >= 0.5.
    private static ReadOnlySpan<double> LanczosCoefficients =>
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(x) for x ≥ 0.5.</summary>
    public static double LogGamma(double x)
    {
        var c = LanczosCoefficients;
        x -= 1;
        var sum = c[0];
        for (var i = 1; i < c.Length; i++) sum += c[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>P(χ²_k ≥ <paramref name="statistic"/>): the regularized upper incomplete gamma Q(k/2, x/2).</summary>
    public static double ChiSquareSurvival(double statistic, int degreesOfFreedom)
    {
        if (double.IsNaN(statistic) || degreesOfFreedom < 1) return double.NaN;
        if (statistic <= 0) return 1;
        return UpperRegularizedGamma(0.5 * degreesOfFreedom, 0.5 * statistic);
    }

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a): a power series for P below x = a + 1 (where it converges fast) and a continued
    /// fraction evaluated with Lentz's method above.</summary>
    public static double UpperRegularizedGamma(double a, double x)
    {
        if (x <= 0) return 1;
        var logPrefix = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            var term = 1.0 / a;
            var sum = term;
            for (var n = 1; n < 10_000; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-16) break;
            }
            return Math.Clamp(1 - sum * Math.Exp(logPrefix), 0, 1);
        }
        const double tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < 10_000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Clamp(Math.Exp(logPrefix) * h, 0, 1);
    }
}
