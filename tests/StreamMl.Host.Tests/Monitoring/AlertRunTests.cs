using System.Globalization;
using StreamMl.Host.Cli;
using StreamMl.Host.Tests.Files;

namespace StreamMl.Host.Tests.Monitoring;

/// <summary>Issue 13 items 1-2 end to end: <c>streamml run</c> over several generated CSV series keyed by their
/// <c>source_file</c>, a Page–Hinkley monitor per file, a one-hour cooldown, and the alert rows written to Parquet and
/// read back with DuckDB; the alert times must be those of the injected spikes.</summary>
public sealed class AlertRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-alerts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, int[]> s_spikes = new()
    {
        ["a"] = [200, 230, 500], // 230 is 30 minutes after 200: inside the cooldown
        ["b"] = [300, 900],
        ["c"] = [150],
    };

    [Fact]
    public async Task Run_prints_alerts_with_event_times_and_writes_alert_rows_whose_times_are_the_injected_rows()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "data"));
        var expected = new List<(string Key, long Time)>();
        var suppressed = 0;
        var seed = 1;
        foreach (var (name, spikes) in s_spikes)
        {
            var values = SensorSeries.Values(1200, seed++, spikes);
            var path = Path.Combine(_dir, "data", name + ".csv");
            SensorSeries.WriteCsv(path, values);
            // Reference: Page–Hinkley over the file alone, then the cooldown over its alarms.
            var alarms = SensorSeries.PageHinkleyAlarms(values, delta: 0.5, lambda: 25);
            Assert.Equal(spikes, alarms); // the data is built so that the detector finds exactly the spikes
            var (raised, quiet) = SensorSeries.Cooldown(alarms.Select(SensorSeries.Micros), TimeSpan.FromHours(1));
            expected.AddRange(raised.Select(t => (path, t)));
            suppressed += quiet;
        }
        Assert.Equal(1, suppressed);
        var spec = Path.Combine(_dir, "monitor.yaml");
        File.WriteAllText(spec, """
            name: multi-series
            source:
              kind: file
              path: data/*.csv
              columns: { timestamp: timestamp, value: float64 }
              event_time: timestamp
              source_file: true
            monitors:
              - columns: [value]
                key: source_file
                detector: page-hinkley
                settings: { delta: 0.5, lambda: 25, alpha: 1 }
            alerts:
              cooldown: 1h
              sinks: [ { kind: parquet, path: alerts/ } ]
            sinks: [ { kind: memory, keep_rows: 0 } ]
            """);

        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(["run", spec, "--plain", "--registry", Path.Combine(_dir, "models")], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit {code}: {error}\n{output}");

        // Printed: one line per alert with the event time of the row that triggered it.
        var lines = output.ToString().Split('\n').Where(l => l.StartsWith("alert ", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.Count, lines.Count);
        foreach (var (key, time) in expected)
        {
            var stamp = DateTimeOffset.UnixEpoch.AddTicks(time * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            Assert.Contains(lines, l => l.StartsWith($"alert {stamp} warning anomaly key={key} value page-hinkley: ", StringComparison.Ordinal));
        }
        Assert.Contains($"alerts: {expected.Count} raised, {suppressed} suppressed by the cooldown", output.ToString());

        // Written: the alert rows, read by DuckDB.
        var glob = Path.Combine(_dir, "alerts", "**", "*.parquet").Replace("'", "''");
        var rows = DuckDb.Query($"SELECT key, CAST(epoch_us(event_time) AS VARCHAR), kind, \"column\", detector, statistic, severity, message FROM read_parquet('{glob}') ORDER BY 1, 2");
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Time).ToList(),
            rows.Select(r => ((string)r[0]!, long.Parse((string)r[1]!, CultureInfo.InvariantCulture))).ToList());
        Assert.All(rows, r => Assert.Equal(("anomaly", "value", "page-hinkley", "warning"), ((string)r[2]!, (string)r[3]!, (string)r[4]!, (string)r[6]!)));
        Assert.All(rows, r => Assert.True((double)r[5]! > 50, $"statistic {r[5]}: the spike's value")); // 20 + 40 ± noise
    }
}
