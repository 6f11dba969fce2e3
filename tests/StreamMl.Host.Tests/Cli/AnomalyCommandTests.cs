using System.Globalization;
using StreamMl.Host.Cli;
using StreamMl.Operators.Anomaly;
using StreamMl.Operators.Anomaly.Evaluation;

namespace StreamMl.Host.Tests.Cli;

/// <summary><c>streamml anomaly evaluate</c> on a small NAB-format fixture written by the test: a sensor with a level
/// shift inside its one labelled window, and a quiet sensor with no window.</summary>
public sealed class AnomalyCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("anomaly-cli").FullName;

    public AnomalyCommandTests()
    {
        var start = new DateTime(2024, 5, 6, 0, 0, 0, DateTimeKind.Utc);
        WriteSeries("sensor_shift.csv", start, TimeSpan.FromMinutes(5), 8 * 288, seed: 1, shiftAt: 5 * 288, shift: 30);
        WriteSeries("sensor_quiet.csv", start, TimeSpan.FromMinutes(30), 20 * 48, seed: 2, shiftAt: int.MaxValue, shift: 0);
        var window = $"[\"{start.AddDays(4.9):yyyy-MM-dd HH:mm:ss}.000000\", \"{start.AddDays(5.5):yyyy-MM-dd HH:mm:ss}.000000\"]";
        File.WriteAllText(Path.Combine(_folder, "combined_windows.json"),
            $"{{\"demo/sensor_shift.csv\": [{window}], \"demo/sensor_quiet.csv\": [], \"other/unused.csv\": []}}");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void WriteSeries(string name, DateTime start, TimeSpan step, int points, int seed, int shiftAt, double shift)
    {
        var rng = new Random(seed);
        using var writer = new StreamWriter(Path.Combine(_folder, name));
        writer.WriteLine("timestamp,value");
        for (var i = 0; i < points; i++)
        {
            var time = start + step * i;
            var noise = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var value = 60 + 10 * Math.Sin(2 * Math.PI * time.TimeOfDay.TotalDays) + 2 * noise + (i >= shiftAt ? shift : 0);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{time:yyyy-MM-dd HH:mm:ss},{value}"));
        }
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    /// <summary>The table row for a detector and series: windows "d/n", false alarms, per 2,000.</summary>
    private static string[] Row(string output, string detector, string series) =>
        Assert.Single(output.Split('\n'), l => l.StartsWith(detector + " ", StringComparison.Ordinal) && l.Contains(" " + series + " ", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Default_configuration_finds_the_shift_and_raises_no_false_alarm()
    {
        var run = await RunAsync("anomaly", "evaluate", "--data", _folder, "--series", "sensor_shift,sensor_quiet", "--details");

        Assert.Equal(ExitCodes.Ok, run.Code);
        Assert.Equal("", run.Error);
        var shift = Row(run.Output, "seasonal", "sensor_shift");
        Assert.Equal(("2304", "1/1", "0"), (shift[2], shift[3], shift[4]));
        var quiet = Row(run.Output, "seasonal", "sensor_quiet");
        Assert.Equal(("960", "0/0", "0", "0.00"), (quiet[2], quiet[3], quiet[4], quiet[5]));
        var total = Row(run.Output, "seasonal", "total");
        Assert.Equal(("3264", "1/1", "0"), (total[2], total[3], total[4]));
        // The shift came at day 5.0, 0.1 day (2.4 h) after the window opened; the detector answers within the hour.
        Assert.InRange(double.Parse(shift[6], CultureInfo.InvariantCulture), 2.4, 3.4);

        // With --details: the window (days 4.9 to 5.5 from 2024-05-06) and its first alarm, no false alarms.
        Assert.Contains("  window 2024-05-10 21:36 .. 2024-05-11 12:00: first alarm 2024-05-11 0", run.Output);
        Assert.Equal(2, run.Output.Split('\n').Count(l => l == "  false alarms: none"));

        // The z-score baseline is printed beside it, with the figures the library computes for it.
        var baseline = AnomalyEvaluation.Evaluate(NabData.Load(_folder, "sensor_shift"), new AnomalyDetectorSettings(AnomalyDetectors.ZScore));
        var zscore = Row(run.Output, "zscore", "sensor_shift");
        Assert.Equal(($"{baseline.WindowsDetected}/1", baseline.FalseAlarms.ToString(CultureInfo.InvariantCulture)), (zscore[3], zscore[4]));
    }

    [Fact]
    public async Task A_config_file_chooses_the_detector_and_its_parameters()
    {
        var config = Path.Combine(_folder, "cusum.yaml");
        File.WriteAllText(config, "# level shifts only\ndetector: cusum\nthreshold: 12   # h\ndrift: 0.75\n");
        var run = await RunAsync("anomaly", "evaluate", "--data", _folder, "--series", "sensor_shift", "--config", config);

        Assert.Equal(ExitCodes.Ok, run.Code);
        var settings = new AnomalyDetectorSettings("cusum", new Dictionary<string, string> { ["threshold"] = "12", ["drift"] = "0.75" });
        var expected = AnomalyEvaluation.Evaluate(NabData.Load(_folder, "sensor_shift"), settings);
        var row = Row(run.Output, "cusum", "sensor_shift");
        Assert.Equal(($"{expected.WindowsDetected}/1", expected.FalseAlarms.ToString(CultureInfo.InvariantCulture)), (row[3], row[4]));
        Assert.Contains("configuration: cusum(threshold=12, drift=0.75)", run.Output);
    }

    [Fact]
    public async Task Bad_input_is_reported_with_where_and_what()
    {
        var config = Path.Combine(_folder, "bad.yaml");
        File.WriteAllText(config, "detector: seasonal\nthreshold 5\n");
        var run = await RunAsync("anomaly", "evaluate", "--data", _folder, "--series", "sensor_shift", "--config", config);
        Assert.Equal(ExitCodes.Failed, run.Code);
        Assert.Equal($"error: {config}:2: 'threshold 5' is not 'name: value'", run.Error.Trim());

        File.WriteAllText(config, "detector: seasonal\nthreshold: high\n");
        run = await RunAsync("anomaly", "evaluate", "--data", _folder, "--series", "sensor_shift", "--config", config);
        Assert.Equal("error: anomaly detector 'seasonal': parameter 'threshold' is 'high'; expected a number", run.Error.Trim());

        run = await RunAsync("anomaly", "evaluate", "--data", _folder, "--series", "taxi");
        Assert.Equal(ExitCodes.Failed, run.Code);
        Assert.Contains("no series 'taxi'", run.Error);
        Assert.Contains("sensor_quiet, sensor_shift", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }
}
