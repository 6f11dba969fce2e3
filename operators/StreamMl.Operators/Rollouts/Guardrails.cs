using System.Globalization;
using StreamMl.Operators.Drift.Internal;
using StreamMl.Operators.Metrics;

namespace StreamMl.Operators.Rollouts;

/// <summary>Judges a candidate against the champion over the same stretch of a rollout: error rate, p99 batch scoring
/// latency, score-distribution drift (PSI and KS between the two models' scores) and, once both have enough labelled
/// rows, the headline label metric and a one-sided large-sample Welch test on the per-row loss.</summary>
public static class Guardrails
{
    /// <summary>Coarse bins of the PSI (groups of <see cref="RolloutWindow.ScoreBins"/> / 10 fine bins).</summary>
    public const int PsiBins = 10;

    /// <summary>Probability floor of an empty PSI bin.</summary>
    public const double PsiFloor = 1e-4;

    /// <summary>Evaluates every guardrail of <paramref name="options"/>.</summary>
    public static GuardrailReport Evaluate(RolloutOptions options, RolloutWindow champion, RolloutWindow candidate)
    {
        var checks = new List<GuardrailCheck>(6) { ErrorRate(options, candidate), Latency(options, champion, candidate) };
        checks.AddRange(ScoreDrift(options, champion, candidate));
        checks.AddRange(Labels(options, champion, candidate));
        return new GuardrailReport(checks);
    }

    /// <summary>PSI between two score histograms over <see cref="PsiBins"/> equal-width bins.</summary>
    public static double ScorePsi(RolloutWindow reference, RolloutWindow current)
    {
        Span<long> p = stackalloc long[PsiBins];
        Span<long> q = stackalloc long[PsiBins];
        var a = reference.ScoreCounts;
        var b = current.ScoreCounts;
        const int group = RolloutWindow.ScoreBins / PsiBins;
        long pn = 0, qn = 0;
        for (var k = 0; k < RolloutWindow.ScoreBins; k++)
        {
            p[k / group] += a[k];
            q[k / group] += b[k];
            pn += a[k];
            qn += b[k];
        }
        return DriftMath.Psi(p, pn, q, qn, PsiFloor);
    }

    /// <summary>Kolmogorov–Smirnov distance between two score histograms (largest CDF gap at a bin edge).</summary>
    public static double ScoreKs(RolloutWindow reference, RolloutWindow current)
    {
        var a = reference.ScoreCounts;
        var b = current.ScoreCounts;
        long an = 0, bn = 0;
        for (var k = 0; k < RolloutWindow.ScoreBins; k++) { an += a[k]; bn += b[k]; }
        if (an == 0 || bn == 0) return double.NaN;
        long ac = 0, bc = 0;
        var ks = 0.0;
        for (var k = 0; k < RolloutWindow.ScoreBins; k++)
        {
            ac += a[k];
            bc += b[k];
            ks = Math.Max(ks, Math.Abs((double)ac / an - (double)bc / bn));
        }
        return ks;
    }

    /// <summary>One-sided p-value that the candidate's mean loss exceeds the champion's (Welch's statistic with the
    /// normal distribution, fine for the hundreds of rows a rollout waits for); NaN without two rows on each side.</summary>
    public static double LossWorsePValue(RolloutWindow champion, RolloutWindow candidate)
    {
        if (champion.Labelled < 2 || candidate.Labelled < 2) return double.NaN;
        var se = Math.Sqrt(candidate.LossVariance / candidate.Labelled + champion.LossVariance / champion.Labelled);
        var diff = candidate.MeanLoss - champion.MeanLoss;
        if (se == 0) return diff > 0 ? 0 : diff < 0 ? 1 : 0.5;
        return UpperNormalTail(diff / se);
    }

    /// <summary>P(Z &gt; z) for a standard normal Z.</summary>
    public static double UpperNormalTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    private static GuardrailCheck ErrorRate(RolloutOptions o, RolloutWindow candidate)
    {
        if (candidate.Rows == 0) return Skip("error-rate", o.MaxErrorRate, "error rate: the candidate scored no rows yet");
        var rate = candidate.ErrorRate;
        return Check("error-rate", rate, o.MaxErrorRate, rate <= o.MaxErrorRate,
            $"error rate {rate * 100:F2}% ({candidate.Errors} of {candidate.Rows} rows) vs limit {o.MaxErrorRate * 100:G3}%");
    }

    private static GuardrailCheck Latency(RolloutOptions o, RolloutWindow champion, RolloutWindow candidate)
    {
        if (champion.Batches < Math.Max(1, o.MinLatencyBatches) || candidate.Batches < Math.Max(1, o.MinLatencyBatches))
            return Skip("latency-p99", o.MaxLatencyRatio,
                FormattableString.Invariant($"p99 latency: {candidate.Batches} candidate and {champion.Batches} champion batches timed, {o.MinLatencyBatches} needed"));
        var ratio = candidate.P99LatencySeconds / champion.P99LatencySeconds;
        return Check("latency-p99", ratio, o.MaxLatencyRatio, ratio <= o.MaxLatencyRatio,
            $"p99 batch scoring latency {candidate.P99LatencySeconds * 1e3:G3} ms vs champion {champion.P99LatencySeconds * 1e3:G3} ms (x{ratio:F2}, limit x{o.MaxLatencyRatio:G3})");
    }

    private static IEnumerable<GuardrailCheck> ScoreDrift(RolloutOptions o, RolloutWindow champion, RolloutWindow candidate)
    {
        if (champion.Rows - champion.Errors == 0 || candidate.Rows - candidate.Errors == 0)
        {
            yield return Skip("score-psi", o.MaxScorePsi, "score PSI: no scores on one side");
            yield return Skip("score-ks", o.MaxScoreKs, "score KS: no scores on one side");
            yield break;
        }
        var psi = ScorePsi(champion, candidate);
        yield return Check("score-psi", psi, o.MaxScorePsi, psi <= o.MaxScorePsi, $"score PSI vs champion {psi:F3} (limit {o.MaxScorePsi:G3})");
        var ks = ScoreKs(champion, candidate);
        yield return Check("score-ks", ks, o.MaxScoreKs, ks <= o.MaxScoreKs, $"score KS vs champion {ks:F3} (limit {o.MaxScoreKs:G3})");
    }

    private static IEnumerable<GuardrailCheck> Labels(RolloutOptions o, RolloutWindow champion, RolloutWindow candidate)
    {
        var binary = o.Task == ModelTask.BinaryClassification;
        var metric = binary ? "AUC" : "RMSE";
        if (o.MinLabels == 0) yield break;
        if (champion.Labelled < o.MinLabels || candidate.Labelled < o.MinLabels)
        {
            var waiting = $"labels: {candidate.Labelled} candidate and {champion.Labelled} champion labelled rows, {o.MinLabels} needed";
            yield return Skip("label-metric", o.MaxMetricDrop, waiting);
            yield return Skip("label-test", o.Alpha, waiting);
            yield break;
        }
        var c = candidate.Metric;
        var p = champion.Metric;
        var drop = binary ? p - c : (c - p) / p;
        var f1 = binary ? string.Create(CultureInfo.InvariantCulture, $", F1 {candidate.F1:F3} vs {champion.F1:F3}") : "";
        yield return Check("label-metric", drop, o.MaxMetricDrop, !(drop > o.MaxMetricDrop),
            $"{metric} {c:F4} vs champion {p:F4} over {candidate.Labelled} and {champion.Labelled} labelled rows{f1} (drop {drop:F4}, limit {o.MaxMetricDrop:G3})");
        var pValue = LossWorsePValue(champion, candidate);
        var loss = binary ? "log loss" : "squared error";
        yield return Check("label-test", pValue, o.Alpha, !(pValue < o.Alpha),
            $"mean {loss} {candidate.MeanLoss:F4} vs champion {champion.MeanLoss:F4}: p = {pValue:G3} that the candidate is worse (limit {o.Alpha:G3})");
    }

    private static GuardrailCheck Check(string name, double value, double limit, bool passed, FormattableString message) =>
        new(name, value, limit, passed, false, FormattableString.Invariant(message));

    private static GuardrailCheck Skip(string name, double limit, string message) => new(name, double.NaN, limit, true, true, message);

    /// <summary>Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    private static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
