using System.Diagnostics;
using StreamMl.Connectors.Synthetic;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Synthetic;

public sealed class SensorSourceTests
{
    private static async Task<List<(long Index, string Device, float?[] Values, string? Fault)>> ReadAllAsync(SensorSource source, int capacity = 1000)
    {
        var rows = new List<(long, string, float?[], string?)>();
        using var batch = new ColumnBatch(source.Schema, capacity);
        var features = source.Schema.Where(f => f.Name.StartsWith('f') && f.Name != "fault").Select(f => source.Schema.IndexOf(f.Name)).ToArray();
        var fault = source.Schema.IndexOf("fault");
        await source.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), default);
        bool more;
        do
        {
            batch.Reset();
            more = await source.FillAsync(batch, default);
            for (var r = 0; r < batch.Length; r++)
            {
                var values = features.Select(c => batch[c].IsValid(r) ? batch[c].Values<float>()[r] : (float?)null).ToArray();
                rows.Add((batch.RowOffsets[r], batch["device"].Dictionary![batch["device"].Values<int>()[r]], values,
                    fault >= 0 ? batch[fault].Dictionary![batch[fault].Values<int>()[r]] : null));
            }
        } while (more);
        return rows;
    }

    [Fact]
    public async Task Readings_follow_the_documented_seasonal_formula_with_gaussian_noise_of_the_configured_spread()
    {
        var options = new SensorSourceOptions
        {
            Devices = 7, Features = 3, TotalRows = 60_000, SeasonalPeriod = TimeSpan.FromSeconds(20), SeasonalAmplitude = 4, NoiseStdDev = 0.5, Seed = 11,
        };
        var source = new SensorSource(options);
        var rows = await ReadAllAsync(source);
        Assert.Equal(60_000, rows.Count);
        for (var f = 0; f < 3; f++)
        {
            // Residuals against the closed-form expectation: mean 0 and standard deviation NoiseStdDev.
            var residuals = rows.Select(r => r.Values[f]!.Value - source.Expected(r.Index, f)).ToArray();
            var mean = residuals.Select(x => (double)x!).Average();
            var sd = Math.Sqrt(residuals.Select(x => ((double)x! - mean) * ((double)x! - mean)).Average());
            Assert.InRange(mean, -0.02, 0.02);
            Assert.InRange(sd, 0.48, 0.52);
            // The seasonal part is really there: readings vary far more than the noise alone would.
            var raw = rows.Select(r => (double)r.Values[f]!.Value).ToArray();
            var rawMean = raw.Average();
            var rawSd = Math.Sqrt(raw.Select(x => (x - rawMean) * (x - rawMean)).Average());
            Assert.InRange(rawSd, Math.Sqrt(4 * 4 / 2.0 + 0.25) * 0.9, Math.Sqrt(4 * 4 / 2.0 + 0.25) * 1.1);
        }
        Assert.Equal(7, rows.Select(r => r.Device).Distinct().Count());
    }

    [Fact]
    public async Task Injected_faults_appear_at_the_configured_rate_are_labelled_and_leave_the_clean_signal_unchanged()
    {
        SensorSourceOptions Options(double rate) => new()
        {
            Devices = 5, Features = 4, TotalRows = 20_000, FaultRate = rate, LabelFaults = rate > 0, Seed = 5, SeasonalPeriod = TimeSpan.FromSeconds(10),
        };
        var clean = await ReadAllAsync(new SensorSource(Options(0)));
        var faulty = await ReadAllAsync(new SensorSource(Options(0.02)));
        var faultyReadings = 0;
        for (var i = 0; i < clean.Count; i++)
        {
            var label = faulty[i].Fault!;
            for (var f = 0; f < 4; f++)
            {
                var a = clean[i].Values[f]!.Value;
                var b = faulty[i].Values[f];
                if (b == a) continue;
                faultyReadings++;
                Assert.NotEqual("", label);
                if (b is null) Assert.Contains("missing", label);
                else if (float.IsNaN(b.Value)) Assert.Contains("nan", label);
                // A stuck sensor may repeat an earlier spike, so a spike-sized value is either.
                else if (Math.Abs(b.Value - (10 * (f + 1))) >= 49) Assert.True(label.Contains("spike") || label.Contains("stuck"), label);
                else Assert.Contains("stuck", label);
            }
        }
        // 80,000 readings at 2 %: about 1,600 (a stuck reading that happens to equal the fresh one is not counted).
        Assert.InRange(faultyReadings, 1350, 1850);
        Assert.All(new[] { "missing", "nan", "spike", "stuck" }, kind => Assert.Contains(faulty, r => r.Fault!.Contains(kind)));
        Assert.All(clean.Zip(faulty).Where(p => p.Second.Fault == ""), p => Assert.Equal(p.First.Values, p.Second.Values));
    }

    [Fact]
    public async Task Drift_ramps_the_mean_of_chosen_features_from_its_start_row_and_nothing_before_it()
    {
        var drift = new SensorDrift { StartRow = 10_000, RampRows = 5_000, MeanShift = 6, NoiseScale = 2, Features = [1] };
        var options = new SensorSourceOptions { Devices = 3, Features = 2, TotalRows = 30_000, Drift = drift, SeasonalPeriod = TimeSpan.FromSeconds(5) };
        var drifted = await ReadAllAsync(new SensorSource(options));
        var baseline = await ReadAllAsync(new SensorSource(new SensorSourceOptions { Devices = 3, Features = 2, TotalRows = 30_000, SeasonalPeriod = TimeSpan.FromSeconds(5) }));
        // Before the start and on the other feature: identical to the undrifted stream.
        Assert.All(Enumerable.Range(0, 10_000), i => Assert.Equal(baseline[i].Values, drifted[i].Values));
        Assert.All(Enumerable.Range(0, 30_000), i => Assert.Equal(baseline[i].Values[0], drifted[i].Values[0]));
        // After the ramp: mean shifted by 6, noise doubled.
        var differences = Enumerable.Range(15_000, 15_000).Select(i => (double)drifted[i].Values[1]!.Value - baseline[i].Values[1]!.Value).ToArray();
        var mean = differences.Average();
        Assert.InRange(mean, 5.95, 6.05);
        var sd = Math.Sqrt(differences.Select(d => (d - mean) * (d - mean)).Average());
        Assert.InRange(sd, 0.95, 1.05); // 2·noise − noise = noise: the same draws, scaled
        // Half-way through the ramp the shift is about half.
        var middle = Enumerable.Range(12_400, 200).Select(i => (double)drifted[i].Values[1]!.Value - baseline[i].Values[1]!.Value).Average();
        Assert.InRange(middle, 2.6, 3.4);
    }

    [Fact]
    public async Task A_rate_limited_source_does_not_run_ahead_of_the_wall_clock()
    {
        var source = new SensorSource(new SensorSourceOptions { TotalRows = 3_000, RowsPerSecond = 5_000 });
        var watch = Stopwatch.StartNew();
        var rows = await ReadAllAsync(source, capacity: 4096);
        Assert.Equal(3_000, rows.Count);
        // 3,000 rows at 5,000/s take at least 0.6 s (a lower bound only: a busy machine may take longer).
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(580), $"took {watch.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Equal_seeds_give_equal_streams_and_the_defaults_keep_the_original_columns()
    {
        var a = await ReadAllAsync(new SensorSource(new SensorSourceOptions { TotalRows = 5000, FaultRate = 0.01 }));
        var b = await ReadAllAsync(new SensorSource(new SensorSourceOptions { TotalRows = 5000, FaultRate = 0.01 }));
        Assert.Equal(a.SelectMany(r => r.Values), b.SelectMany(r => r.Values));
        Assert.Equal(["device", "timestamp", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"], new SensorSource().Schema.Select(f => f.Name));
    }
}
