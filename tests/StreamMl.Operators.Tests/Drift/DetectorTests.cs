using StreamMl.Operators.Drift;
using Xunit.Abstractions;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>Concept-drift detectors on synthetic streams with a known change point: detection delay after a mean
/// shift, and the false-alarm rate on stationary data (measured, printed, and bounded).</summary>
public sealed class DetectorTests(ITestOutputHelper output)
{
    private const int ChangeAt = 2000;
    private const int Runs = 40;

    private static double Gaussian(Random rng, double mean) => mean + DriftStatisticsProperties.Normal(rng);

    private static double Bernoulli(Random rng, double p) => rng.NextDouble() < p ? 1 : 0;

    /// <summary>Feeds <see cref="ChangeAt"/> values before the change and up to 5000 after; returns the delay of the
    /// first detection at or after the change, or −1, and whether anything fired before it.</summary>
    private static (int Delay, bool EarlyAlarm) Delay(IDriftDetector detector, Func<int, double> value)
    {
        var early = false;
        for (var t = 0; t < ChangeAt + 5000; t++)
        {
            if (detector.Update(value(t)) != DetectorSignal.Drift) continue;
            if (t < ChangeAt) { early = true; continue; }
            return (t - ChangeAt, early);
        }
        return (-1, early);
    }

    private (int Max, double Mean, int Early) MeasureDelays(Func<IDriftDetector> create, Func<Random, int, double> value, string label)
    {
        var delays = new List<int>();
        var early = 0;
        for (var seed = 0; seed < Runs; seed++)
        {
            var rng = new Random(1000 + seed);
            var (delay, alarm) = Delay(create(), t => value(rng, t));
            delays.Add(delay < 0 ? int.MaxValue : delay);
            if (alarm) early++;
        }
        var max = delays.Max();
        var mean = delays.Where(d => d != int.MaxValue).DefaultIfEmpty(-1).Average();
        output.WriteLine($"{label}: detection delay over {Runs} runs: mean {mean:F1}, max {max} samples; runs with an alarm before the change: {early}");
        return (max, mean, early);
    }

    private double MeasureFalseAlarms(Func<IDriftDetector> create, Func<Random, double> value, string label, int samples = 20_000)
    {
        long alarms = 0;
        for (var seed = 0; seed < Runs; seed++)
        {
            var rng = new Random(5000 + seed);
            var detector = create();
            for (var t = 0; t < samples; t++) detector.Update(value(rng));
            alarms += detector.Detections;
            Assert.Equal(samples, detector.Samples);
        }
        var perMillion = alarms * 1e6 / ((double)samples * Runs);
        output.WriteLine($"{label}: {alarms} false alarms in {Runs} × {samples} stationary samples = {perMillion:F1} per million samples");
        return perMillion;
    }

    [Fact]
    public void AdwinDetectsAOneSigmaShiftWithin300SamplesAndRarelyFalseAlarms()
    {
        var (max, _, early) = MeasureDelays(() => new Adwin(delta: 0.002), (rng, t) => Gaussian(rng, t < ChangeAt ? 0 : 1), "ADWIN δ=0.002, N(0,1)→N(1,1)");
        Assert.True(max <= 300, $"max delay {max}");
        Assert.True(early <= 2, $"{early} runs alarmed before the change");
        var rate = MeasureFalseAlarms(() => new Adwin(delta: 0.002), rng => Gaussian(rng, 0), "ADWIN δ=0.002, N(0,1)");
        Assert.True(rate <= 100, $"{rate} false alarms per million");
    }

    [Fact]
    public void AdwinWindowTracksTheNewMeanAfterAShift()
    {
        var rng = new Random(3);
        var adwin = new Adwin();
        for (var t = 0; t < 4000; t++) adwin.Update(Gaussian(rng, t < ChangeAt ? 0 : 3));
        // After the drift the window holds (almost) only post-change values.
        Assert.InRange(adwin.Estimate, 2.8, 3.2);
        Assert.InRange(adwin.Width, 1000, 2100);
        Assert.True(adwin.Detections >= 1);
        // The windowed mean and variance are those of the values it kept, as a plain computation over them says.
        var tail = new List<double>();
        rng = new Random(3);
        for (var t = 0; t < 4000; t++) tail.Add(Gaussian(rng, t < ChangeAt ? 0 : 3));
        var kept = tail.Skip(tail.Count - (int)adwin.Width).ToList();
        var (mean, variance) = ExactReference.TwoPass(kept);
        Assert.Equal(mean, adwin.Estimate, tolerance: 1e-9);
        Assert.Equal(variance * (kept.Count - 1) / kept.Count, adwin.Variance, tolerance: 1e-6);
    }

    [Fact]
    public void PageHinkleyTunedForUnitVarianceDetectsAOneSigmaShiftWithin150SamplesAndRarelyFalseAlarms()
    {
        // CUSUM practice: δ is half the shift worth detecting, λ a few tens of σ; the detection delay is about
        // λ / (shift − δ) = 50 samples.
        Func<ChangeDirection, IDriftDetector> create = direction => new PageHinkley(delta: 0.5, lambda: 25, alpha: 1, direction: direction);
        var (max, _, early) = MeasureDelays(() => create(ChangeDirection.Both), (rng, t) => Gaussian(rng, t < ChangeAt ? 0 : 1), "Page-Hinkley δ=0.5 λ=25, N(0,1)→N(1,1)");
        Assert.True(max <= 150, $"max delay {max}");
        Assert.Equal(0, early);
        var down = MeasureDelays(() => create(ChangeDirection.Down), (rng, t) => Gaussian(rng, t < ChangeAt ? 0 : -1), "Page-Hinkley δ=0.5 λ=25 down, N(0,1)→N(-1,1)");
        Assert.True(down.Max <= 150, $"max delay {down.Max}");
        var rate = MeasureFalseAlarms(() => create(ChangeDirection.Both), rng => Gaussian(rng, 0), "Page-Hinkley δ=0.5 λ=25, N(0,1)");
        Assert.True(rate <= 50, $"{rate} false alarms per million");
    }

    [Fact]
    public void PageHinkleyDefaultsOnAnErrorStreamDetectAnErrorRateRise()
    {
        // The defaults (δ 0.005, λ 50, α 0.9999, as in MOA) are meant for 0/1 error streams.
        var (max, _, _) = MeasureDelays(() => new PageHinkley(direction: ChangeDirection.Up), (rng, t) => Bernoulli(rng, t < ChangeAt ? 0.1 : 0.3), "Page-Hinkley defaults up, error rate 0.1→0.3");
        Assert.True(max <= 400, $"max delay {max}");
        var rate = MeasureFalseAlarms(() => new PageHinkley(direction: ChangeDirection.Up), rng => Bernoulli(rng, 0.1), "Page-Hinkley defaults up, error rate 0.1");
        Assert.True(rate <= 100, $"{rate} false alarms per million");
    }

    [Fact]
    public void DdmDetectsAnErrorRateRiseWithin1500SamplesAndItsFalseAlarmRateIsMeasured()
    {
        // DDM's minimum of p + s is fragile in its first few hundred values: some runs alarm (and reset) before the
        // change, which is why the worst delay is far above the mean. Both are reported in docs/drift.md.
        var (max, mean, early) = MeasureDelays(() => new Ddm(), (rng, t) => Bernoulli(rng, t < ChangeAt ? 0.1 : 0.3), "DDM, error rate 0.1→0.3");
        Assert.True(max <= 1500, $"max delay {max}");
        Assert.True(mean <= 300, $"mean delay {mean}");
        Assert.True(early <= Runs / 2, $"{early} runs alarmed before the change");
        var rate = MeasureFalseAlarms(() => new Ddm(), rng => Bernoulli(rng, 0.1), "DDM, error rate 0.1");
        Assert.True(rate <= 100, $"{rate} false alarms per million");
    }

    [Fact]
    public void DetectorsAllocateNothingPerUpdate()
    {
        var detectors = new IDriftDetector[] { new Adwin(), new PageHinkley(), new Ddm() };
        var rng = new Random(4);
        var values = Enumerable.Range(0, 100_000).Select(i => Bernoulli(rng, i < 50_000 ? 0.2 : 0.6)).ToArray();
        foreach (var d in detectors) for (var i = 0; i < 1000; i++) d.Update(values[i]);
        Assert.Equal(0, SteadyState.AllocatedBytes(() => { foreach (var d in detectors) foreach (var v in values) d.Update(v); }, 1));
        Assert.All(detectors, d => Assert.True(d.Detections >= 1, $"{d.Name} missed the change"));
    }
}
