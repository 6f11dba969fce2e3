using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Drift.Internal;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>Streaming and binned statistics against exact computations on whole sorted samples.</summary>
public sealed class DriftStatisticsProperties
{
    private static readonly int[] s_batchSizes = [1, 7, 4096];

    /// <summary>Float-representable values from FsCheck's integers, at a scale and offset picked by <paramref name="shape"/>
    /// (large offsets stress the variance's numerical stability).</summary>
    internal static double[] Values(int[] raw, int shape, double shift = 0)
    {
        var scale = (shape & 3) switch { 0 => 1.0 / 16, 1 => 1.0, 2 => 37.5, _ => 1e-3 };
        var offset = ((shape >> 2) & 3) switch { 0 => 0.0, 1 => -250.0, 2 => 1e4, _ => 3e5 };
        return [.. raw.Select(r => (double)(float)(r * scale + offset + shift))];
    }

    [Property(MaxTest = 200, EndSize = 3000)]
    public Property WelfordMatchesTwoPass(int[] raw, int shape)
    {
        var xs = Values(raw, shape);
        var m = new RunningMoments();
        foreach (var x in xs) m.Add(x);
        if (xs.Length < 2) return (m.Count == xs.Length).Label("count");
        var (mean, variance) = ExactReference.TwoPass(xs);
        return (Close(m.Mean, mean, 1e-12, Math.Abs(xs.Max()) + Math.Abs(xs.Min()))
                && Close(m.Variance, variance, 1e-8, variance + 1e-9)
                && m.Min == xs.Min() && m.Max == xs.Max())
            .Label($"mean {m.Mean} vs {mean}, var {m.Variance} vs {variance}");
    }

    [Property(MaxTest = 100, EndSize = 5000)]
    public Property KernelMatchesTwoPassAndSortedCountsForEveryBatchSizeAndVectorWidth(int[] raw, int shape, int[] refRaw)
    {
        var xs = Values(raw, shape);
        var reference = Values(refRaw.Length > 0 ? refRaw : [0, 1, 2, 3], shape);
        var edges = ReferenceProfileBuilder.QuantileEdges([.. reference.Order()], 20);
        var floatEdges = edges.Select(NumericKernel.RoundUp).ToArray();
        var expectedBins = ExactReference.BinCounts(xs, edges);
        var floats = xs.Select(x => (float)x).ToArray();
        var property = true.ToProperty();
        foreach (var width in new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Scalar })
        foreach (var batch in s_batchSizes)
        {
            var m = new RunningMoments();
            var tails = new BinnedTails();
            var less = new long[edges.Length];
            var scratch = new float[batch];
            for (var start = 0; start < floats.Length; start += batch)
            {
                var span = floats.AsSpan(start, Math.Min(batch, floats.Length - start));
                NumericKernel.Accumulate(span, floatEdges, less, ref m, ref tails, scratch, width);
            }
            var bins = Enumerable.Range(0, edges.Length + 1).Select(k => DriftMath.BinCount(less, m.Count, k)).ToArray();
            var ok = m.Count == xs.Length && bins.SequenceEqual(expectedBins);
            if (edges.Length > 0)
            {
                var scale = xs.Sum(Math.Abs) + 1;
                ok &= Math.Abs(tails.SumBelowFirst - xs.Where(v => v < edges[0]).Sum()) <= 1e-12 * scale
                      && Math.Abs(tails.SumBelowLast - xs.Where(v => v < edges[^1]).Sum()) <= 1e-12 * scale;
            }
            if (xs.Length > 1)
            {
                var (mean, variance) = ExactReference.TwoPass(xs);
                ok &= Close(m.Mean, mean, 1e-12, Math.Abs(xs.Max()) + Math.Abs(xs.Min()))
                      && Close(m.Variance, variance, 1e-8, variance + 1e-9)
                      && m.Min == xs.Min() && m.Max == xs.Max();
            }
            property = property.And(ok.Label($"width={width} batch={batch}: bins [{string.Join(",", bins)}] vs [{string.Join(",", expectedBins)}], mean {m.Mean}"));
        }
        return property;
    }

    [Property(MaxTest = 100, EndSize = 3000)]
    public Property KernelCountsNaNAndInfinityAsMissing(int[] raw, bool[] holes)
    {
        var xs = Values(raw, 1).Select(x => (float)x).ToArray();
        var expectedMissing = 0;
        for (var i = 0; i < xs.Length && i < holes.Length; i++)
        {
            if (!holes[i]) continue;
            xs[i] = (i % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
            expectedMissing++;
        }
        var finite = xs.Where(float.IsFinite).Select(x => (double)x).ToArray();
        var edges = new[] { -10.0, 0.0, 10.0 };
        var less = new long[3];
        var m = new RunningMoments();
        var tails = new BinnedTails();
        var missing = NumericKernel.Accumulate(xs, edges.Select(NumericKernel.RoundUp).ToArray(), less, ref m, ref tails, new float[xs.Length], SimdWidth.Vector512);
        var expectedLess = edges.Select(e => (long)finite.Count(v => v < e)).ToArray();
        return (missing == expectedMissing && m.Count == finite.Length && less.SequenceEqual(expectedLess))
            .Label($"missing {missing} vs {expectedMissing}, less [{string.Join(",", less)}] vs [{string.Join(",", expectedLess)}]");
    }

    [Property(MaxTest = 200)]
    public Property MergeOfSplitsEqualsWhole(int[] raw, int shape, PositiveInt cut)
    {
        var xs = Values(raw, shape);
        var split = xs.Length == 0 ? 0 : cut.Get % xs.Length;
        RunningMoments whole = default, left = default, right = default;
        foreach (var x in xs) whole.Add(x);
        foreach (var x in xs[..split]) left.Add(x);
        foreach (var x in xs[split..]) right.Add(x);
        left.Merge(right);
        if (xs.Length < 2) return (left.Count == whole.Count).ToProperty();
        return (left.Count == whole.Count && Close(left.Mean, whole.Mean, 1e-12, Math.Abs(xs.Max()) + Math.Abs(xs.Min()))
                && Close(left.Variance, whole.Variance, 1e-8, whole.Variance + 1e-9))
            .Label($"{left.Mean}/{left.Variance} vs {whole.Mean}/{whole.Variance}");
    }

    /// <summary>Binned KS ≤ exact KS ≤ binned KS + max over bins of min(p_k, q_k).</summary>
    [Property(MaxTest = 200, EndSize = 2000)]
    public Property BinnedKsIsWithinTheBinMassOfExactKs(int[] refRaw, int[] curRaw, int shape, int shift, PositiveInt bins)
    {
        if (refRaw.Length == 0 || curRaw.Length == 0) return true.ToProperty();
        var (reference, current, edges, refLess, curLess) = Setup(refRaw, curRaw, shape, shift, 1 + bins.Get % 30);
        var binned = DriftMath.KsCumulative(refLess, reference.Length, curLess, current.Length);
        var exact = ExactReference.Ks(reference, current);
        var bound = 0.0;
        for (var k = 0; k <= edges.Length; k++)
            bound = Math.Max(bound, Math.Min((double)DriftMath.BinCount(refLess, reference.Length, k) / reference.Length,
                (double)DriftMath.BinCount(curLess, current.Length, k) / current.Length));
        return (binned <= exact + 1e-12 && exact <= binned + bound + 1e-12)
            .Label($"binned {binned}, exact {exact}, bound {bound}");
    }

    /// <summary>|W_binned − W_exact| ≤ Σ_k w_k·(p_k + q_k): each binned CDF stays within its bin's mass of the true one.</summary>
    [Property(MaxTest = 200, EndSize = 2000)]
    public Property BinnedWassersteinIsWithinBinWidthTimesMassOfExact(int[] refRaw, int[] curRaw, int shape, int shift, PositiveInt bins)
    {
        if (refRaw.Length == 0 || curRaw.Length == 0) return true.ToProperty();
        var (reference, current, edges, refLess, curLess) = Setup(refRaw, curRaw, shape, shift, 1 + bins.Get % 30);
        var binned = DriftMath.WassersteinCumulative(edges, refLess, reference.Length, Tails(reference, edges), curLess, current.Length, Tails(current, edges));
        var exact = ExactReference.Wasserstein(reference, current);
        var bound = WassersteinBound(edges, reference, refLess, current, curLess);
        var lo = Math.Min(reference.Min(), current.Min());
        var hi = Math.Max(reference.Max(), current.Max());
        var slack = 1e-9 * (hi - lo + 1);
        return (Math.Abs(binned - exact) <= bound + slack).Label($"binned {binned}, exact {exact}, bound {bound}");
    }

    /// <summary>PSI and JS from the streaming bins equal their definitions on bins counted over the sorted samples
    /// (no approximation beyond the binning itself).</summary>
    [Property(MaxTest = 200, EndSize = 2000)]
    public Property PsiAndJensenShannonMatchDefinitionsOnSortedSamples(int[] refRaw, int[] curRaw, int shape, int shift)
    {
        if (refRaw.Length == 0 || curRaw.Length == 0) return true.ToProperty();
        var (reference, current, edges, refLess, curLess) = Setup(refRaw, curRaw, shape, shift, 10);
        var refBins = ExactReference.BinCounts(reference, edges);
        var curBins = ExactReference.BinCounts(current, edges);
        var psi = DriftMath.PsiCumulative(refLess, reference.Length, curLess, current.Length, 1e-4);
        var js = DriftMath.JensenShannonCumulative(refLess, reference.Length, curLess, current.Length);
        var psiExact = ExactReference.Psi(refBins, curBins, 1e-4);
        var jsExact = ExactReference.JensenShannon(refBins, curBins);
        return (Math.Abs(psi - psiExact) <= 1e-12 * (1 + psiExact) && Math.Abs(js - jsExact) <= 1e-12 && js is >= 0 and <= 1 + 1e-12)
            .Label($"psi {psi} vs {psiExact}, js {js} vs {jsExact}");
    }

    [Fact]
    public void DistancesAreZeroForIdenticalSamplesAndGrowWithShift()
    {
        var rng = new Random(7);
        var reference = Enumerable.Range(0, 5000).Select(_ => (double)(float)Normal(rng)).ToArray();
        var previous = -1.0;
        var previousW = 0.0;
        foreach (var shift in new[] { 0.0, 0.25, 0.5, 1.0, 2.0 })
        {
            var current = reference.Select(v => (double)(float)(v + shift)).ToArray();
            var edges = ReferenceProfileBuilder.QuantileEdges([.. reference.Order()], 20);
            var refLess = edges.Select(e => (long)reference.Count(v => v < e)).ToArray();
            var curLess = edges.Select(e => (long)current.Count(v => v < e)).ToArray();
            var psi = DriftMath.PsiCumulative(refLess, reference.Length, curLess, current.Length, 1e-4);
            if (shift == 0) Assert.Equal(0, psi, 12);
            Assert.True(psi > previous, $"PSI {psi} at shift {shift} should exceed {previous}");
            previous = psi;
            var w = DriftMath.WassersteinCumulative(edges, refLess, reference.Length, Tails(reference, edges), curLess, current.Length, Tails(current, edges));
            // Shifting a sample moves every quantile by the shift, so exact W1 equals it; the binned estimate stays
            // within the bound the property above checks, and here within 5%.
            var bound = WassersteinBound(edges, reference, refLess, current, curLess);
            Assert.InRange(w, shift - bound - 1e-9, shift + bound + 1e-9);
            Assert.InRange(w, shift * 0.95 - 1e-9, shift * 1.05 + 1e-9);
            Assert.True(w >= previousW, $"W {w} at shift {shift} below {previousW}");
            previousW = w;
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(10)]
    [InlineData(30)]
    public void ChiSquarePValueMatchesClosedFormForEvenDegreesOfFreedom(int dof)
    {
        // For even k, P(χ²_k ≥ x) = e^(−x/2) Σ_{i<k/2} (x/2)^i / i!.
        foreach (var x in new[] { 0.1, 1.0, 3.7, dof * 1.0, dof + 10.0, 80.0 })
        {
            double term = 1, sum = 0;
            for (var i = 0; i < dof / 2; i++)
            {
                if (i > 0) term *= x / 2 / i;
                sum += term;
            }
            var expected = Math.Exp(-x / 2) * sum;
            var actual = SpecialFunctions.ChiSquareSurvival(x, dof);
            Assert.True(Math.Abs(actual - expected) <= 1e-12 + 1e-10 * expected, $"dof {dof}, x {x}: {actual} vs {expected}");
        }
    }

    [Fact]
    public void LogGammaMatchesFactorials()
    {
        double factorial = 1;
        for (var n = 1; n < 25; n++)
        {
            if (n > 1) factorial *= n - 1;
            Assert.Equal(Math.Log(factorial), SpecialFunctions.LogGamma(n), tolerance: 1e-10);
        }
        Assert.Equal(0.5 * Math.Log(Math.PI), SpecialFunctions.LogGamma(0.5), 12);
    }

    private static (double[] Reference, double[] Current, double[] Edges, long[] RefLess, long[] CurLess) Setup(
        int[] refRaw, int[] curRaw, int shape, int shift, int bins)
    {
        var reference = Values(refRaw, shape);
        var current = Values(curRaw, shape, shift % 50);
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = bins });
        builder.AddNumeric("x", reference);
        var profile = builder.Build().Features[0];
        var refLess = new long[profile.Edges.Length];
        long running = 0;
        for (var k = 0; k < refLess.Length; k++) refLess[k] = running += profile.BinCounts[k];
        var curLess = new long[profile.Edges.Length];
        var m = new RunningMoments();
        var tails = new BinnedTails();
        NumericKernel.Accumulate(current.Select(v => (float)v).ToArray(), profile.Edges.Select(NumericKernel.RoundUp).ToArray(),
            curLess, ref m, ref tails, new float[current.Length], SimdWidth.Vector512);
        return (reference, current, profile.Edges, refLess, curLess);
    }

    private static double WassersteinBound(double[] edges, double[] reference, long[] refLess, double[] current, long[] curLess)
    {
        var lo = Math.Min(reference.Min(), current.Min());
        var hi = Math.Max(reference.Max(), current.Max());
        var bound = 0.0;
        for (var k = 0; k <= edges.Length; k++)
        {
            var left = k == 0 ? lo : edges[k - 1];
            var right = k == edges.Length ? hi : edges[k];
            var mass = (double)DriftMath.BinCount(refLess, reference.Length, k) / reference.Length
                       + (double)DriftMath.BinCount(curLess, current.Length, k) / current.Length;
            bound += Math.Max(0, right - left) * mass;
        }
        return bound;
    }

    /// <summary>Tail sums computed directly on a sample (what the profile and the kernel accumulate).</summary>
    private static BinnedTails Tails(double[] sample, double[] edges) => edges.Length == 0
        ? new BinnedTails(sample.Sum(), 0, 0)
        : new BinnedTails(sample.Sum(), sample.Where(v => v < edges[0]).Sum(), sample.Where(v => v < edges[^1]).Sum());

    internal static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static bool Close(double actual, double expected, double relative, double scale) =>
        Math.Abs(actual - expected) <= relative * Math.Max(1, Math.Abs(scale));
}
