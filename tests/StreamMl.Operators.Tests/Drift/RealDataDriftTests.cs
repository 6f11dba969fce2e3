using System.Globalization;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using Xunit.Abstractions;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>Drift monitoring through real pipelines on the shared datasets: profile on a training split, then watch a
/// held-out split, clean and corrupted.</summary>
public sealed class RealDataDriftTests(ITestOutputHelper output)
{
    private static readonly string[] s_amounts =
        ["LIMIT_BAL", "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
         "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6"];

    private static readonly string[] s_codes = ["SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"];

    private static readonly Schema s_schema = new(
        [.. s_amounts.Select(n => new Field(n, ColumnType.Float32)), .. s_codes.Select(n => new Field(n, ColumnType.Int32)),
         new Field("default", ColumnType.Int32)]);

    private static (string[] Header, double[][] Rows) ReadCredit()
    {
        var lines = File.ReadAllLines(TestData.Path("credit_default", "UCI_Credit_Card.csv"));
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        var rows = lines.Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        return (header, rows);
    }

    private static Action<ColumnBatch, int, int> Writer(string[] header, double[][] rows, Func<int, string, double?>? corrupt = null)
    {
        var sourceIndex = s_schema.Select(f => Array.IndexOf(header, f.Name == "default" ? "default.payment.next.month" : f.Name)).ToArray();
        return (batch, slot, row) =>
        {
            for (var c = 0; c < s_schema.Count; c++)
            {
                var field = s_schema[c];
                double? value = rows[row][sourceIndex[c]];
                if (corrupt is not null) value = corrupt(row, field.Name) ?? value;
                var column = batch[c];
                if (value is double.NaN) { column.SetNull(slot); continue; }
                if (field.Type == ColumnType.Float32) column.Values<float>()[slot] = (float)value!.Value;
                else column.Values<int>()[slot] = (int)value!.Value;
            }
        };
    }

    [Fact]
    public async Task CreditDefaultProfileThenDriftThroughPipelines()
    {
        var (header, rows) = ReadCredit();
        var train = rows[..15_000];
        var serve = rows[15_000..];

        // Training: profile the first half in a bounded pipeline and store it as JSON, as the model registry does.
        var profiler = new ProfileOperator(new ProfileOptions
        {
            Columns = [.. s_amounts, .. s_codes], CategoricalColumns = ["SEX", "EDUCATION", "MARRIAGE"],
        });
        await using (var training = Pipeline.From(new RowsSource(s_schema, train.Length, Writer(header, train), i => i * 1_000_000L))
                         .Then(profiler).To().Build())
            await training.RunAsync();
        var path = Path.Combine(Path.GetTempPath(), $"streamml-profile-{Guid.NewGuid():N}.json");
        profiler.Profile!.Save(path);
        var profile = ReferenceProfile.Load(path);
        File.Delete(path);
        Assert.Equal(train.Length, profile.Rows);
        Assert.Equal(FeatureKind.Categorical, profile.Find("EDUCATION")!.Kind);

        // Serving, clean: one row per second, windows of 30 minutes.
        var clean = await Serve(profile, header, serve, corrupt: null);
        var cleanReport = clean.GetReport();
        Assert.Equal(serve.Length, cleanReport.Rows);
        foreach (var f in cleanReport.Features)
            output.WriteLine($"clean {f.Name,-10} {f.Status,-8} psi {f.Psi:F4} ks {f.KolmogorovSmirnov:F4} {f.Reason}");
        Assert.All(cleanReport.Features, f => Assert.NotEqual(DriftStatus.Drift, f.Status));

        // Serving, corrupted from the middle: credit limits in another currency (×30) and a third of ages lost.
        var half = serve.Length / 2;
        var broken = await Serve(profile, header, serve, (row, name) => row < half ? null : name switch
        {
            "LIMIT_BAL" => serve[row][1] * 30,
            "AGE" when row % 3 == 0 => double.NaN,
            _ => null,
        });
        var windows = broken.GetWindowReports();
        Assert.Equal(9, windows.Count);
        foreach (var w in windows)
        {
            var limit = w.Features.Single(f => f.Name == "LIMIT_BAL");
            var age = w.Features.Single(f => f.Name == "AGE");
            output.WriteLine($"window {w.WindowStart / 1_000_000}s: LIMIT_BAL {limit.Status} ({limit.Reason}), AGE {age.Status} ({age.Reason})");
            var corrupted = w.WindowStart >= half * 1_000_000L;
            var clean2 = w.WindowEnd <= half * 1_000_000L;
            if (corrupted)
            {
                Assert.Equal(DriftStatus.Drift, limit.Status);
                Assert.Equal(DriftStatus.Drift, age.Status);
                Assert.Contains("missing rate", age.Reason);
            }
            else if (clean2)
            {
                // Only LIMIT_BAL is checked here: the file is not shuffled, and one 30-minute window of real ages
                // (rows 20,400 to 22,200) does differ from the training half by KS 0.2.
                Assert.NotEqual(DriftStatus.Drift, limit.Status);
            }
        }
        var lifetime = broken.GetReport();
        Assert.Equal(DriftStatus.Drift, lifetime.Status);
        Assert.Equal(DriftStatus.Drift, lifetime.Features.Single(f => f.Name == "LIMIT_BAL").Status);
        Assert.NotEqual(DriftStatus.Drift, lifetime.Features.Single(f => f.Name == "PAY_AMT1").Status);
        var detector = Assert.Single(lifetime.Detectors!);
        Assert.Equal(serve.Length, detector.Samples);
    }

    private static async Task<DriftOperator> Serve(ReferenceProfile profile, string[] header, double[][] rows, Func<int, string, double?>? corrupt)
    {
        var drift = new DriftOperator(new DriftOptions
        {
            Profile = profile,
            Window = DriftWindow.Tumbling(TimeSpan.FromMinutes(30)),
            Monitors = [new ScalarMonitor("default", new Ddm())],
        });
        await using var serving = Pipeline.From(new RowsSource(s_schema, rows.Length, Writer(header, rows, corrupt), i => i * 1_000_000L, watermarkLag: 1))
            .Then(drift).To().Build();
        await serving.RunAsync();
        return drift;
    }

    [Fact]
    public void AdwinWindowOnNabMachineTemperatureMatchesPlainStatisticsOfTheValuesItKept()
    {
        var lines = File.ReadAllLines(TestData.Path("nab", "machine_temperature_system_failure.csv")).Skip(1).ToArray();
        var values = lines.Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var adwin = new Adwin(delta: 0.002);
        var checkedCuts = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (adwin.Update(values[i]) != DetectorSignal.Drift) continue;
            // After a cut the window is exactly the newest Width values: check its mean and variance against them.
            var kept = values[(i + 1 - (int)adwin.Width)..(i + 1)];
            var (mean, variance) = ExactReference.TwoPass(kept);
            Assert.Equal(mean, adwin.Estimate, tolerance: 1e-9 * Math.Abs(mean));
            if (kept.Length > 1) Assert.Equal(variance * (kept.Length - 1) / kept.Length, adwin.Variance, tolerance: 1e-6);
            checkedCuts++;
        }
        output.WriteLine($"ADWIN δ=0.002 on {values.Length} machine temperature readings: {adwin.Detections} cuts (the series has daily cycles and 4 labelled failures, so ADWIN tracks level changes, not anomalies)");
        Assert.True(checkedCuts > 0);
        Assert.Equal(values.Length, adwin.Samples);
    }
}
