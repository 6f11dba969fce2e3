using StreamMl.Operators.Anomaly;
using StreamMl.Testing.Anomaly;

namespace StreamMl.Operators.Tests.Anomaly;

/// <summary>Each detector against its plain reference in <see cref="ReferenceDetectors"/>, the keyed bank against
/// separate detectors, and behaviour on streams with a known change (level shift, variance change, outliers).</summary>
public sealed class AnomalyDetectorTests
{
    private const long FiveMinutes = 5 * 60 * 1_000_000L;
    private static readonly long s_start = (new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>A daily cycle with weekday/weekend levels, Gaussian noise and, from <paramref name="shiftAt"/>, a level
    /// shift of <paramref name="shift"/>.</summary>
    internal static (long[] Times, double[] Values) SeasonalSeries(int seed, int points, int shiftAt = int.MaxValue, double shift = 0)
    {
        var rng = new Random(seed);
        var times = new long[points];
        var values = new double[points];
        for (var i = 0; i < points; i++)
        {
            times[i] = s_start + i * FiveMinutes;
            var time = ReferenceDetectors.ToDateTime(times[i]);
            var weekend = time.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? -15 : 0;
            values[i] = 100 + weekend + 20 * Math.Sin(2 * Math.PI * time.TimeOfDay.TotalDays) + 2 * Normal(rng) + (i >= shiftAt ? shift : 0);
        }
        return (times, values);
    }

    internal static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void Seasonal_matches_the_reference(int seed, bool weekly)
    {
        var options = new SeasonalDetectorOptions { Weekly = weekly };
        var (times, values) = SeasonalSeries(seed, 12 * 288, shiftAt: 9 * 288, shift: 25);
        var detector = AnomalyDetectors.Create(options);
        var reference = new ReferenceDetectors.Seasonal(options);
        var detections = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var actual = detector.Update(values[i], times[i]);
            var (statistic, severity) = reference.Update(values[i], times[i]);
            Assert.Equal(statistic, actual.Statistic, 1e-9);
            Assert.Equal(severity, actual.Severity);
            if (actual.IsAnomaly) detections++;
        }
        Assert.True(detections > 0, "the level shift at day 9 was not detected");
    }

    [Fact]
    public void Cusum_matches_the_reference()
    {
        var options = new CusumDetectorOptions();
        var rng = new Random(3);
        var detector = AnomalyDetectors.Create(options);
        var reference = new ReferenceDetectors.Cusum(options);
        var detections = 0;
        for (var i = 0; i < 6000; i++)
        {
            var value = 5 + (i > 2000 ? 1.5 : 0) + (i > 4000 ? 3 : 1) * Normal(rng);
            var actual = detector.Update(value, i);
            var (statistic, severity) = reference.Update(value);
            Assert.Equal(statistic, actual.Statistic, 1e-9);
            Assert.Equal(severity, actual.Severity);
            if (actual.IsAnomaly) detections++;
        }
        Assert.True(detections >= 2, $"{detections} detections; the mean shift at 2000 and the variance change at 4000 should both be found");
    }

    [Theory]
    [InlineData(1.0, 3.0)]   // variance up, mean unchanged
    [InlineData(3.0, 1.0)]   // variance down
    [InlineData(1.0, 1.0)]   // no change: no detection
    public void Cusum_finds_a_variance_change_with_the_mean_unchanged(double before, double after)
    {
        var quietRuns = 0;
        var delays = new List<int>();
        for (var seed = 0; seed < 20; seed++)
        {
            var rng = new Random(100 + seed);
            var detector = AnomalyDetectors.Create(new CusumDetectorOptions());
            var first = -1;
            for (var i = 0; i < 3000 && first < 0; i++)
                if (detector.Update(10 + (i < 1500 ? before : after) * Normal(rng), i).IsAnomaly) first = i;
            if (first < 0) quietRuns++;
            else if (first >= 1500) delays.Add(first - 1500);
        }
        if (before == after)
        {
            Assert.True(quietRuns >= 18, $"{20 - quietRuns} of 20 stationary runs raised a detection within 3,000 values");
            return;
        }
        Assert.True(delays.Count >= 18, $"{delays.Count} of 20 runs found the change after it happened");
        Assert.True(delays.Max() < 200, $"delays {string.Join(", ", delays)}");
    }

    [Fact]
    public void Keyed_half_space_trees_take_several_values_per_event()
    {
        var settings = new AnomalyDetectorSettings(AnomalyDetectors.HalfSpaceTrees, new Dictionary<string, string> { ["dimensions"] = "3", ["window"] = "50" });
        var keyed = AnomalyDetectors.CreateKeyed(settings);
        var own = new[] { AnomalyDetectors.CreateMultivariate(settings), AnomalyDetectors.CreateMultivariate(settings) };
        var rng = new Random(9);
        for (var i = 0; i < 600; i++)
        {
            var k = i % 2;
            double[] x = [Normal(rng) + k, Normal(rng), Normal(rng) * 2];
            Assert.Equal(own[k].Update(x, i), keyed.Update(keyed.SlotOf($"machine-{k}"), x, i));
        }
        Assert.Equal(3, keyed.Dimensions);
        var wrong = Assert.Throws<AnomalyDetectorException>(() => keyed.Update(0, [1.0, 2.0], 0));
        Assert.Equal("anomaly detector 'half-space-trees' takes 3 values per row, not 2", wrong.Message);
    }

    [Fact]
    public void ZScore_matches_the_reference()
    {
        var options = new ZScoreDetectorOptions { Window = 50 };
        var rng = new Random(4);
        var detector = AnomalyDetectors.Create(options);
        var reference = new ReferenceDetectors.ZScore(options);
        for (var i = 0; i < 2000; i++)
        {
            var value = 1e4 + 100 * Normal(rng) + (i % 300 == 299 ? 1000 : 0);
            var actual = detector.Update(value, i);
            var expected = reference.Update(value);
            if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual.Statistic));
            else Assert.Equal(expected, actual.Statistic, 1e-6);
        }
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(3, 11)]
    public void HalfSpaceTrees_match_the_reference_and_score_outliers_high(int dimensions, int seed)
    {
        var options = new HalfSpaceTreesOptions { Dimensions = dimensions, Window = 100, Seed = seed };
        var rng = new Random(seed);
        var detector = AnomalyDetectors.Create(options);
        var reference = new PlainHalfSpaceTrees(options);
        var normal = new List<double>();
        var outliers = new List<double>();
        for (var i = 0; i < 1500; i++)
        {
            var outlier = i > 300 && i % 50 == 0;
            var x = Enumerable.Range(0, dimensions).Select(_ => outlier ? 8 + rng.NextDouble() : Normal(rng)).ToArray();
            var actual = detector.Update(x, i);
            var expected = reference.Update(x);
            if (double.IsNaN(expected)) { Assert.True(double.IsNaN(actual.Statistic)); continue; }
            Assert.Equal(expected, actual.Statistic, 1e-12);
            (outlier ? outliers : normal).Add(actual.Statistic);
        }
        // Ranking: the chance that an outlier scores above a normal point (the area under the ROC curve).
        var auc = outliers.Average(o => normal.Count(n => o > n) / (double)normal.Count);
        Assert.True(auc > 0.95, $"AUC {auc:F3}: outliers scored {outliers.Average():F4} on average, normal points {normal.Average():F4}");
    }

    public static TheoryData<string> Detectors() => [AnomalyDetectors.Seasonal, AnomalyDetectors.Cusum, AnomalyDetectors.ZScore, AnomalyDetectors.HalfSpaceTrees];

    [Theory]
    [MemberData(nameof(Detectors))]
    public void Keyed_detectors_give_each_key_what_a_detector_of_its_own_gives(string name)
    {
        var settings = new AnomalyDetectorSettings(name);
        var keyed = AnomalyDetectors.CreateKeyed(settings, expectedKeys: 2); // grows past 2 while running
        var own = new Dictionary<object, IAnomalyDetector>();
        var series = Enumerable.Range(0, 7).Select(k => SeasonalSeries(10 + k, 5 * 288, shiftAt: (3 + k % 2) * 288 + 40 * k, shift: 20)).ToArray();
        var rng = new Random(5);
        var next = new int[series.Length];
        for (var step = 0; step < 7 * 5 * 288; step++)
        {
            var k = rng.Next(series.Length);
            if (next[k] == series[k].Values.Length) continue;
            var i = next[k]++;
            object key = k % 2 == 0 ? (long)k * 1_000_003 : $"device-{k}";
            var slot = key is long id ? keyed.SlotOf(id) : keyed.SlotOf((string)key);
            var actual = keyed.Update(slot, series[k].Values[i], series[k].Times[i]);
            if (!own.TryGetValue(key, out var detector)) own[key] = detector = AnomalyDetectors.Create(settings);
            var expected = detector.Update(series[k].Values[i], series[k].Times[i]);
            Assert.Equal(expected, actual);
            Assert.Equal(key, keyed.KeyAt(slot));
        }
        Assert.Equal(series.Length, keyed.KeyCount);
    }

    [Theory]
    [InlineData(AnomalyDetectors.Seasonal)]
    [InlineData(AnomalyDetectors.Cusum)]
    public void Statistics_do_not_change_when_the_series_is_shifted_and_scaled(string name)
    {
        var (times, values) = SeasonalSeries(6, 6 * 288, shiftAt: 4 * 288, shift: 15);
        var plain = AnomalyDetectors.Create(new AnomalyDetectorSettings(name));
        var moved = AnomalyDetectors.Create(new AnomalyDetectorSettings(name));
        for (var i = 0; i < values.Length; i++)
        {
            var a = plain.Update(values[i], times[i]);
            var b = moved.Update(values[i] * 3.5 - 40, times[i]);
            if (double.IsNaN(a.Statistic)) { Assert.True(double.IsNaN(b.Statistic)); continue; }
            Assert.Equal(a.Statistic, b.Statistic, 1e-4 * Math.Max(1, a.Statistic));
        }
    }

    [Fact]
    public void Seasonal_detector_is_quiet_on_a_seasonal_series_and_alarms_once_on_a_level_shift()
    {
        var (times, quiet) = SeasonalSeries(7, 21 * 288);
        var detector = AnomalyDetectors.Create(AnomalyDetectorSettings.Default);
        Assert.DoesNotContain(quiet.Select((v, i) => detector.Update(v, times[i])), s => s.IsAnomaly);

        var (_, shifted) = SeasonalSeries(7, 21 * 288, shiftAt: 14 * 288, shift: 15);
        detector = AnomalyDetectors.Create(AnomalyDetectorSettings.Default);
        var alarms = shifted.Select((v, i) => (Index: i, Score: detector.Update(v, times[i]))).Where(s => s.Score.IsAnomaly).ToList();
        var alarm = Assert.Single(alarms);
        Assert.InRange(alarm.Index - 14 * 288, 0, 12); // within an hour of the shift
    }

    [Fact]
    public void Settings_errors_name_the_detector_and_the_parameter()
    {
        var unknown = Assert.Throws<AnomalyDetectorException>(() => AnomalyDetectors.Create(new AnomalyDetectorSettings("seasonl")));
        Assert.Contains("unknown anomaly detector 'seasonl'", unknown.Message);
        var parameter = Assert.Throws<AnomalyDetectorException>(() => AnomalyDetectors.Create(
            new AnomalyDetectorSettings("seasonal", new Dictionary<string, string> { ["treshold"] = "5" })));
        Assert.Contains("has no parameter 'treshold'", parameter.Message);
        Assert.Contains("threshold", parameter.Message);
        var value = Assert.Throws<AnomalyDetectorException>(() => AnomalyDetectors.Create(
            new AnomalyDetectorSettings("cusum", new Dictionary<string, string> { ["drift"] = "lots" })));
        Assert.Equal("anomaly detector 'cusum': parameter 'drift' is 'lots'; expected a number", value.Message);
        var period = Assert.Throws<AnomalyDetectorException>(() => AnomalyDetectors.Create(
            new AnomalyDetectorSettings("seasonal", new Dictionary<string, string> { ["period"] = "12h" })));
        Assert.Contains("weekly profiles need a period of 1d", period.Message);
        var ok = AnomalyDetectors.Create(new AnomalyDetectorSettings("seasonal", new Dictionary<string, string> { ["period"] = "12h", ["weekly"] = "false", ["slots"] = "24" }));
        Assert.Equal("seasonal", ok.Name);
    }

    [Theory]
    [MemberData(nameof(Detectors))]
    public void Updates_allocate_nothing_in_steady_state_over_ten_thousand_keys(string name)
    {
        // Half-Space Trees keep 40 KiB of node mass per key, so they are checked over fewer keys.
        var keys = name == AnomalyDetectors.HalfSpaceTrees ? 100 : 10_000;
        var keyed = AnomalyDetectors.CreateKeyed(new AnomalyDetectorSettings(name), keys);
        var slots = Enumerable.Range(0, keys).Select(k => keyed.SlotOf((long)k)).ToArray();
        var rng = new Random(8);
        var values = Enumerable.Range(0, 4096).Select(_ => 50 + Normal(rng)).ToArray();
        void Run(int rounds, int offset)
        {
            for (var r = 0; r < rounds; r++)
                for (var k = 0; k < keys; k++)
                    keyed.Update(slots[k], values[(k + r) & 4095], s_start + (offset + r) * FiveMinutes);
        }
        Run(3, 0);
        var offset = 3;
        Assert.Equal(0, SteadyState.AllocatedBytes(() => { Run(3, offset); offset += 3; }, 1));
    }
}
