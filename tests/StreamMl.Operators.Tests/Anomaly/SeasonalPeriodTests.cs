using System.Globalization;
using StreamMl.Operators.Anomaly;
using Xunit.Abstractions;

namespace StreamMl.Operators.Tests.Anomaly;

/// <summary>Season length from the sample autocorrelation (<see cref="SeasonalPeriod"/>, the seasonal detector's
/// <c>period: auto</c>) against a plain ACF written here (two nested loops, no vector kernel), on NAB's series and on
/// generated ones whose season is known.</summary>
public sealed class SeasonalPeriodTests(ITestOutputHelper log)
{
    /// <summary>Plain sample ACF and the documented rule: the first local maximum after the ACF first goes negative,
    /// at least <paramref name="min"/>, between lag 2 and n/2.</summary>
    private static (int Lag, double Acf)? Reference(double[] x, double min)
    {
        var n = x.Length;
        var mean = x.Average();
        var denominator = x.Sum(v => (v - mean) * (v - mean));
        double R(int k)
        {
            var sum = 0.0;
            for (var t = 0; t + k < n; t++) sum += (x[t] - mean) * (x[t + k] - mean);
            return sum / denominator;
        }
        var crossed = false;
        for (var k = 1; k <= n / 2; k++)
        {
            var r = R(k);
            if (r < 0) crossed = true;
            if (crossed && k >= 2 && r >= min && r >= R(k - 1) && r >= R(k + 1)) return (k, r);
        }
        return null;
    }

    private static (double[] Values, long[] Micros) ReadNab(string name, int points)
    {
        var path = StreamMl.Testing.SharedData.File("nab", name);
        Skip.IfNot(File.Exists(path), $"NAB data not found at {path}");
        var rows = File.ReadLines(path).Skip(1).Take(points).Select(l => l.Split(',')).ToArray();
        var times = rows.Select(r => (DateTime.ParseExact(r[0], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) - DateTime.UnixEpoch).Ticks / 10).ToArray();
        return (rows.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)).ToArray(), times);
    }

    [SkippableTheory]
    [InlineData("nyc_taxi.csv", 2016, 48)]                                 // 30-minute counts: one day
    [InlineData("machine_temperature_system_failure.csv", 2016, null)]    // 5-minute readings: no daily cycle above 0.3
    public void NAB_series_seasons_match_a_plain_ACF(string file, int points, int? knownLag)
    {
        var (values, micros) = ReadNab(file, points);
        var spacing = SeasonalPeriod.MedianSpacing(micros);
        var found = SeasonalPeriod.Detect(values, spacing);
        var reference = Reference(values, 0.3);
        log.WriteLine($"{file}: spacing {spacing}, found {found}, reference {reference}");

        Assert.Equal(reference?.Lag, found?.Lag);
        if (reference is { } r)
        {
            Assert.Equal(r.Acf, found!.Value.Autocorrelation, 1e-9);
            Assert.Equal(TimeSpan.FromTicks(spacing.Ticks * r.Lag), found.Value.Period);
        }
        Assert.Equal(knownLag, found?.Lag);
    }

    [Theory]
    [InlineData(37, 1)]
    [InlineData(96, 2)]
    [InlineData(288, 3)]
    public void A_generated_season_under_noise_and_a_trend_is_found(int season, int seed)
    {
        var rng = new Random(seed);
        var values = Enumerable.Range(0, season * 8)
            .Select(t => 10 * Math.Sin(2 * Math.PI * t / season) + 0.002 * t + rng.NextDouble() * 4).ToArray();
        var found = SeasonalPeriod.Detect(values, TimeSpan.FromMinutes(5));
        Assert.Equal(Reference(values, 0.3)?.Lag, found?.Lag);
        Assert.InRange(found!.Value.Lag, season - 1, season + 1);
        Assert.Equal(TimeSpan.FromMinutes(5 * found.Value.Lag), found.Value.Period);
    }

    [Fact]
    public void Noise_has_no_season_and_bad_input_is_refused()
    {
        var rng = new Random(4);
        Assert.Null(SeasonalPeriod.Detect(Enumerable.Range(0, 2000).Select(_ => rng.NextDouble()).ToArray(), TimeSpan.FromMinutes(1)));
        Assert.Null(SeasonalPeriod.Detect(new double[100], TimeSpan.FromMinutes(1))); // constant
        Assert.Throws<ArgumentException>(() => SeasonalPeriod.Detect([1, 2, double.NaN, 4, 5, 6, 7], TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeasonalPeriod.Detect([1, 2, 3], TimeSpan.Zero));
    }
}
