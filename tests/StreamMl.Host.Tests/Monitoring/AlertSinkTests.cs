using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Monitoring;

/// <summary>Issue 13 item 2, the remaining sink kinds: alert rows of <c>streamml run</c> go to a Kafka topic and to a
/// PostgreSQL table, and readers StreamMl did not write (kcat, psql) find one row per expected alert with the event time
/// of the row that triggered it. The expected alerts come from a plain Page–Hinkley and cooldown written in the test
/// (<see cref="SensorSeries"/>).</summary>
public sealed class AlertSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-alert-sinks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Two series with spikes; the alerts a plain Page–Hinkley plus a one-hour cooldown raise, as (file, micros).</summary>
    private List<(string Key, long Time)> WriteSeries()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "data"));
        var expected = new List<(string, long)>();
        var seed = 11;
        foreach (var (name, spikes) in new[] { ("a", new[] { 200, 230, 700 }), ("b", new[] { 400 }) })
        {
            var values = SensorSeries.Values(1000, seed++, spikes);
            var path = Path.Combine(_dir, "data", name + ".csv");
            SensorSeries.WriteCsv(path, values);
            var alarms = SensorSeries.PageHinkleyAlarms(values, delta: 0.5, lambda: 25);
            Assert.Equal(spikes, alarms);
            expected.AddRange(SensorSeries.Cooldown(alarms.Select(SensorSeries.Micros), TimeSpan.FromHours(1)).Raised.Select(t => (path, t)));
        }
        return [.. expected.OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2)];
    }

    private string Spec(string alertSink) => $$"""
        name: alert-sinks
        source:
          kind: file
          path: {{Path.Combine(_dir, "data")}}/*.csv
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
          sinks: [ {{alertSink}} ]
        sinks: [ { kind: memory, keep_rows: 0 } ]
        """;

    private async Task RunAsync(string alertSink)
    {
        var spec = Path.Combine(_dir, "alerts.yaml");
        File.WriteAllText(spec, Spec(alertSink));
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(["run", spec, "--plain", "--registry", Path.Combine(_dir, "models")], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit {code}: {error}\n{output}");
    }

    [SkippableFact]
    public async Task Alerts_reach_a_Kafka_topic_with_their_event_times()
    {
        Requirement.That(File.Exists("/usr/bin/kcat"), "kcat is not installed: apt-get install kcat (scripts/test.sh installs it)");
        var expected = WriteSeries();
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("alerts", 1);
        await RunAsync($$"""{ kind: kafka, bootstrap: "{{cluster.BootstrapServers}}", topic: alerts, format: json }""");

        // kcat: a separate process with its own Kafka client; -e stops at the end of the partition.
        var lines = new List<string>();
        await Eventually.TrueAsync(async () =>
        {
            lines = await KcatAsync(cluster.BootstrapServers, "alerts");
            return lines.Count >= expected.Count;
        }, "kcat reads the alert messages", TimeSpan.FromSeconds(30), () => $"{lines.Count} messages");
        var alerts = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var seen = alerts.Select(a => (a.GetProperty("key").GetString()!, Micros(a.GetProperty("event_time"))))
            .OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2).ToList();
        Assert.Equal(expected, seen);
        Assert.All(alerts, a =>
        {
            Assert.Equal("anomaly", a.GetProperty("kind").GetString());
            Assert.Equal("page-hinkley", a.GetProperty("detector").GetString());
            Assert.Equal("value", a.GetProperty("column").GetString());
        });
    }

    [SkippableFact]
    public async Task Alerts_reach_a_PostgreSQL_table_with_their_event_times()
    {
        var connection = Environment.GetEnvironmentVariable("STREAMML_PG");
        Requirement.That(!string.IsNullOrWhiteSpace(connection), "STREAMML_PG is not set: this test needs a PostgreSQL server. Run `source scripts/services.sh; services_start` first (scripts/test.sh does).");
        Requirement.That(File.Exists("/usr/bin/psql"), "psql is not installed: apt-get install postgresql-client");
        var expected = WriteSeries();
        var table = $"alerts_{Guid.NewGuid():N}"[..24];
        await RunAsync($$"""{ kind: postgres, connection: "{{connection}}", table: {{table}} }""");

        // psql: the server's own client; event times as microseconds since the epoch, in UTC.
        var rows = await PsqlAsync(connection!, $"SELECT key, (extract(epoch FROM event_time) * 1000000)::bigint, kind, detector, severity FROM {table} ORDER BY 1, 2");
        var seen = rows.Select(r => (r[0], long.Parse(r[1], CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(expected, seen);
        Assert.All(rows, r => Assert.Equal(["anomaly", "page-hinkley", "warning"], r[2..]));
        Assert.Equal("timestamp with time zone", (await PsqlAsync(connection!,
            $"SELECT data_type FROM information_schema.columns WHERE table_name = '{table}' AND column_name = 'event_time'")).Single()[0]);
        await PsqlAsync(connection!, $"DROP TABLE {table}");
    }

    /// <summary>A timestamp as the JSON codec writes it: microseconds, or an ISO-8601 string.</summary>
    private static long Micros(JsonElement value) => value.ValueKind == JsonValueKind.Number
        ? value.GetInt64()
        : (DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static async Task<List<string>> KcatAsync(string bootstrap, string topic)
    {
        var (code, output, error) = await ProcessAsync("/usr/bin/kcat", ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n"]);
        Assert.True(code == 0, $"kcat exited {code}: {error}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static async Task<List<string[]>> PsqlAsync(string connection, string sql)
    {
        var parts = connection.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        string[] args =
        [
            "-h", parts.GetValueOrDefault("host", "127.0.0.1"), "-p", parts.GetValueOrDefault("port", "5432"),
            "-U", parts.GetValueOrDefault("username", "postgres"), "-d", parts.GetValueOrDefault("database", "postgres"),
            "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ];
        var (code, output, error) = await ProcessAsync("/usr/bin/psql", args, parts.TryGetValue("password", out var password) ? password : null);
        Assert.True(code == 0, $"psql exited {code}: {error}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))];
    }

    private static async Task<(int Code, string Output, string Error)> ProcessAsync(string file, string[] args, string? password = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        if (password is not null) start.Environment["PGPASSWORD"] = password;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
