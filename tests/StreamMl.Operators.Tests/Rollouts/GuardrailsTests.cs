using StreamMl.Operators.Metrics;
using StreamMl.Operators.Rollouts;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Rollouts;

/// <summary>The rollout guardrails' statistics against plain reference computations on the raw values: PSI over ten
/// equal-width bins, KS at the histogram's edges, AUC by counting pairs, the p99 by sorting, RMSE and F1 by formula, and
/// the normal tail by numerical integration.</summary>
public sealed class GuardrailsTests
{
    private static readonly RolloutOptions s_options = new();

    [Theory]
    [InlineData(1, 0.0, 1.0)]
    [InlineData(2, 0.1, 1.0)]
    [InlineData(3, 0.0, 1.6)]
    public void Psi_and_ks_between_two_models_scores_match_a_reference_on_the_raw_scores(int seed, double shift, double spread)
    {
        var random = new Random(seed);
        var a = Enumerable.Range(0, 5000).Select(_ => Beta(random, 2, 5)).ToArray();
        var b = Enumerable.Range(0, 3000).Select(_ => Math.Clamp(0.5 + (Beta(random, 2, 5) - 0.5) * spread + shift, 0, 0.999999)).ToArray();
        var wa = Window(a);
        var wb = Window(b);

        Assert.Equal(ReferencePsi(a, b), Guardrails.ScorePsi(wa, wb), 1e-9);
        Assert.Equal(ReferenceKs(a, b, RolloutWindow.ScoreBins), Guardrails.ScoreKs(wa, wb), 1e-9);
    }

    [Fact]
    public void Auc_f1_and_log_loss_from_labelled_outcomes_match_references()
    {
        var random = new Random(11);
        var pairs = Enumerable.Range(0, 4000).Select(_ =>
        {
            var y = random.NextDouble() < 0.3;
            var p = Math.Clamp((y ? 0.62 : 0.38) + (random.NextDouble() - 0.5) * 0.7, 0, 1);
            return (P: p, Y: y);
        }).ToArray();
        var window = new RolloutWindow(s_options);
        foreach (var (p, y) in pairs) window.AddOutcome(p, y ? 1 : 0);

        var positives = pairs.Where(x => x.Y).Select(x => x.P).ToArray();
        var negatives = pairs.Where(x => !x.Y).Select(x => x.P).ToArray();
        var exactAuc = positives.Sum(p => negatives.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0)) / ((double)positives.Length * negatives.Length);
        // Pairs sharing one of the 1,000 bins count half: the binned AUC is within the share of such pairs.
        Assert.Equal(exactAuc, window.Auc, 2e-3);
        long tp = pairs.Count(x => x.Y && x.P >= 0.5), fp = pairs.Count(x => !x.Y && x.P >= 0.5), fn = pairs.Count(x => x.Y && x.P < 0.5);
        Assert.Equal(2.0 * tp / (2 * tp + fp + fn), window.F1, 1e-12);
        var losses = pairs.Select(x => -Math.Log(Math.Clamp(x.Y ? x.P : 1 - x.P, 1e-7, 1))).ToArray();
        Assert.Equal(losses.Average(), window.MeanLoss, 1e-9);
        Assert.Equal(losses.Sum(l => Math.Pow(l - losses.Average(), 2)) / (losses.Length - 1), window.LossVariance, 1e-9);
    }

    [Fact]
    public void Rmse_of_a_regression_window_matches_the_formula()
    {
        var options = new RolloutOptions { Task = ModelTask.Regression, ScoreMin = -10, ScoreMax = 10 };
        var random = new Random(4);
        var window = new RolloutWindow(options);
        var errors = new List<double>();
        for (var i = 0; i < 1000; i++)
        {
            var label = random.NextDouble() * 8 - 4;
            var prediction = label + (random.NextDouble() - 0.5) * 2;
            window.AddOutcome(prediction, label);
            errors.Add(prediction - label);
        }
        Assert.Equal(Math.Sqrt(errors.Average(e => e * e)), window.Rmse, 1e-12);
    }

    [Fact]
    public void P99_latency_is_the_upper_edge_of_the_bin_holding_the_exact_p99()
    {
        var random = new Random(8);
        var window = new RolloutWindow(s_options);
        var seconds = Enumerable.Range(0, 2000).Select(_ => Math.Exp(random.NextDouble() * 6 - 9)).ToArray();
        foreach (var s in seconds) window.AddLatency(s);
        var sorted = seconds.Skip(s_options.LatencyWarmupBatches).Order().ToArray();
        var exact = sorted[(int)Math.Ceiling(0.99 * sorted.Length) - 1];
        Assert.InRange(window.P99LatencySeconds, exact, exact * Math.Pow(10, 0.1) * (1 + 1e-12));
    }

    [Theory]
    [InlineData(-2.5)]
    [InlineData(-0.3)]
    [InlineData(0.0)]
    [InlineData(1.2)]
    [InlineData(3.1)]
    public void Normal_tail_matches_numerical_integration(double z)
    {
        // Simpson's rule for ∫_z^{z+12} φ(x) dx: the tail beyond z + 12 is below 1e-30.
        const int steps = 20000;
        var h = 12.0 / steps;
        var sum = 0.0;
        for (var i = 0; i <= steps; i++)
        {
            var x = z + i * h;
            var w = i == 0 || i == steps ? 1 : i % 2 == 1 ? 4 : 2;
            sum += w * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
        }
        Assert.Equal(sum * h / 3, Guardrails.UpperNormalTail(z), 1e-6);
    }

    [Fact]
    public void Welch_p_value_of_a_worse_loss_matches_the_statistic_on_the_raw_losses()
    {
        var random = new Random(21);
        var champion = new RolloutWindow(s_options);
        var candidate = new RolloutWindow(s_options);
        var lossA = new List<double>();
        var lossB = new List<double>();
        for (var i = 0; i < 800; i++)
        {
            var y = random.NextDouble() < 0.5;
            var pa = Math.Clamp((y ? 0.7 : 0.3) + (random.NextDouble() - 0.5) * 0.4, 0.01, 0.99);
            var pb = Math.Clamp((y ? 0.62 : 0.38) + (random.NextDouble() - 0.5) * 0.6, 0.01, 0.99);
            champion.AddOutcome(pa, y ? 1 : 0);
            candidate.AddOutcome(pb, y ? 1 : 0);
            lossA.Add(-Math.Log(y ? pa : 1 - pa));
            lossB.Add(-Math.Log(y ? pb : 1 - pb));
        }
        var se = Math.Sqrt(Variance(lossA) / lossA.Count + Variance(lossB) / lossB.Count);
        var z = (lossB.Average() - lossA.Average()) / se;
        var p = Guardrails.LossWorsePValue(champion, candidate);
        Assert.Equal(Guardrails.UpperNormalTail(z), p, 1e-9);
        Assert.True(p < 0.01, $"a clearly worse candidate should be significant, p = {p}");
        Assert.True(Guardrails.LossWorsePValue(candidate, champion) > 0.99);
    }

    [Fact]
    public void A_candidate_that_fails_rows_or_shifts_its_scores_fails_the_named_guardrail()
    {
        var random = new Random(3);
        var champion = new RolloutWindow(s_options);
        var candidate = new RolloutWindow(s_options);
        for (var i = 0; i < 2000; i++)
        {
            champion.AddScore(Beta(random, 2, 5));
            candidate.AddScore(i % 50 == 0 ? double.NaN : Math.Min(0.999, Beta(random, 2, 5) + 0.3));
        }
        var report = Guardrails.Evaluate(s_options, champion, candidate);
        Assert.False(report.Passed);
        Assert.Equal(["error-rate", "score-psi", "score-ks"], report.Checks.Where(c => !c.Passed).Select(c => c.Name));
        Assert.Equal(40.0 / 2000, report.Checks.Single(c => c.Name == "error-rate").Value, 1e-12);
        Assert.True(report.Checks.Single(c => c.Name == "label-test").Skipped);
        Assert.Contains("error rate 2.00% (40 of 2000 rows)", report.FailureReason);
    }

    [Theory]
    [InlineData(10, true)]
    [InlineData(0, false)]
    public void A_candidate_whose_first_batches_are_cold_passes_the_latency_guardrail_only_when_they_are_untimed(int warmup, bool passes)
    {
        var options = new RolloutOptions { LatencyWarmupBatches = warmup };
        var champion = new RolloutWindow(options);
        var candidate = new RolloutWindow(options);
        for (var i = 0; i < 100; i++)
        {
            champion.AddLatency(0.001);
            candidate.AddLatency(i < 3 ? 0.030 : 0.0011); // a freshly loaded model: three slow first runs
        }
        var check = Guardrails.Evaluate(options, champion, candidate).Checks.Single(c => c.Name == "latency-p99");
        Assert.False(check.Skipped);
        Assert.Equal(passes, check.Passed);
        Assert.Equal(100 - warmup, candidate.Batches);
    }

    [Fact]
    public void A_slower_candidate_fails_the_latency_guardrail_once_enough_batches_are_timed()
    {
        var champion = new RolloutWindow(s_options);
        var candidate = new RolloutWindow(s_options);
        void Time(int batches)
        {
            for (var i = 0; i < batches; i++)
            {
                champion.AddLatency(0.001);
                candidate.AddLatency(i % 10 == 0 ? 0.012 : 0.004);
            }
        }
        Time(s_options.LatencyWarmupBatches + s_options.MinLatencyBatches - 1);
        Assert.True(Guardrails.Evaluate(s_options, champion, candidate).Checks.Single(c => c.Name == "latency-p99").Skipped);
        Time(1);
        var check = Guardrails.Evaluate(s_options, champion, candidate).Checks.Single(c => c.Name == "latency-p99");
        Assert.False(check.Passed);
        Assert.Equal(candidate.P99LatencySeconds / champion.P99LatencySeconds, check.Value, 1e-12);
        Assert.InRange(check.Value, 12 / 1.26, 12 * 1.26);
    }

    private static RolloutWindow Window(double[] scores)
    {
        var w = new RolloutWindow(s_options);
        foreach (var s in scores) w.AddScore(s);
        return w;
    }

    private static double ReferencePsi(double[] a, double[] b)
    {
        var psi = 0.0;
        for (var k = 0; k < 10; k++)
        {
            double lo = k / 10.0, hi = (k + 1) / 10.0;
            var p = Math.Max(a.Count(x => x >= lo && (x < hi || k == 9)) / (double)a.Length, Guardrails.PsiFloor);
            var q = Math.Max(b.Count(x => x >= lo && (x < hi || k == 9)) / (double)b.Length, Guardrails.PsiFloor);
            psi += (q - p) * Math.Log(q / p);
        }
        return psi;
    }

    private static double ReferenceKs(double[] a, double[] b, int edges)
    {
        var ks = 0.0;
        for (var k = 1; k <= edges; k++)
        {
            var edge = k / (double)edges;
            ks = Math.Max(ks, Math.Abs(a.Count(x => x < edge || k == edges) / (double)a.Length - b.Count(x => x < edge || k == edges) / (double)b.Length));
        }
        return ks;
    }

    private static double Variance(List<double> x)
    {
        var mean = x.Average();
        return x.Sum(v => (v - mean) * (v - mean)) / (x.Count - 1);
    }

    private static double Beta(Random random, int a, int b)
    {
        // Order statistic of uniforms: the a-th smallest of a + b - 1 uniforms is Beta(a, b).
        var u = Enumerable.Range(0, a + b - 1).Select(_ => random.NextDouble()).Order().ToArray();
        return u[a - 1];
    }
}
