using System.Globalization;
using System.Text.Json;
using StreamMl.Connectors.Tests.Http;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Connectors.Tests.Mqtt;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary><c>streamml run</c> of file, Kafka and MQTT specs into Parquet, killed with SIGKILL three times after parts
/// were published and started again; DuckDB compares the output with the source row for row.</summary>
public sealed class SpecKillRestartTests(ITestOutputHelper output)
{
    private static string Json(long id) => JsonSerializer.Serialize(new { id, amount = KillRestartHarness.Amount(id), label = KillRestartHarness.Label(id) });

    [Fact]
    public async Task A_file_spec_killed_three_times_delivers_every_row_once()
    {
        const int Rows = 600_000;
        using var harness = new KillRestartHarness(output);
        var csv = KillRestartHarness.WriteCsv(Path.Combine(harness.Folder, "big.csv"), Rows);
        var folder = Path.Combine(harness.Folder, "out");
        var spec = Path.Combine(harness.Folder, "file.yaml");
        // With a checkpoint: a restart resumes after the last committed row and skips what the output already holds.
        File.WriteAllText(spec, """
            name: file-to-parquet
            options: { flush_interval: 100ms }
            source: { kind: file, path: big.csv, checkpoint: state/files.json }
            sinks:
              - { kind: parquet, path: out, roll_rows: 10000 }
            """);
        string[] arguments = ["run", spec, "--plain"];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            if (!await harness.StartAndKillAsync(arguments, _ => KillRestartHarness.PublishedParts(folder) >= before + 1, TimeSpan.FromMinutes(2)))
                break;
        }
        var last = await harness.RunToEndAsync(arguments, TimeSpan.FromMinutes(3));

        var figures = OutputComparison.Compare("spec file -> parquet", csv, folder, harness.Kills);
        output.WriteLine(figures.ToString());
        Assert.Equal(0, last.ExitCode);
        // A run that only skips and finishes between two looks at the folder is not killed: two kills at least.
        Assert.True(harness.Kills >= 2, $"{harness.Kills} kill(s)");
        Assert.Equal((Rows, 0L, 0L, 0L), (figures.Delivered, figures.Lost, figures.Invented, figures.Duplicated));
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
    }

    [Fact]
    public async Task A_kafka_spec_commits_while_running_and_killed_three_times_delivers_every_record_once()
    {
        const int Records = 120_000;
        const string Topic = "kill-in";
        using var harness = new KillRestartHarness(output);
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Topic, 3);
        // A quarter of the records before each run, so every run has new records to publish before it is killed.
        var produced = 0;
        void ProduceQuarter()
        {
            KafkaTestClient.Produce(cluster.BootstrapServers, Topic, Enumerable.Range(produced, Records / 4).Select(i => ((string?)$"k{i}", Json(i))));
            produced += Records / 4;
        }
        var csv = KillRestartHarness.WriteCsv(Path.Combine(harness.Folder, "source.csv"), Records);
        var folder = Path.Combine(harness.Folder, "out");
        var spec = Path.Combine(harness.Folder, "kafka.yaml");
        File.WriteAllText(spec, $$"""
            name: kafka-to-parquet
            options: { flush_interval: 200ms }
            source:
              kind: kafka
              bootstrap: "{{cluster.BootstrapServers}}"
              topics: [{{Topic}}]
              group: kill
              columns: { id: int64, amount: float64, label: string }
              config: { session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
            sinks:
              - { kind: parquet, path: out, roll_seconds: 1, roll_rows: 10000 }
            """);
        string[] arguments = ["run", spec, "--plain"];
        long Committed() => KafkaTestClient.Committed(cluster.BootstrapServers, Topic, "kill", 3).Values.Where(o => o > 0).Sum();

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            var committedBefore = Committed();
            ProduceQuarter();
            // Killed once offsets were committed while it ran (not only at a stop) and two more parts are out.
            Assert.True(await harness.StartAndKillAsync(arguments,
                _ => KillRestartHarness.PublishedParts(folder) >= before + 2 && Committed() > committedBefore,
                TimeSpan.FromMinutes(2)));
        }
        ProduceQuarter();
        var last = harness.Start(arguments);
        await KillRestartHarness.WaitUntilAsync(() => OutputComparison.DistinctIds(folder) >= Records, TimeSpan.FromMinutes(3), "every record in the output", last);
        last.Terminate();
        Assert.True(await last.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var figures = OutputComparison.Compare("spec kafka -> parquet", csv, folder, harness.Kills);
        output.WriteLine(figures.ToString());
        Assert.Equal((0L, 0L, 0L), (figures.Lost, figures.Invented, figures.Duplicated));
        Assert.Equal(Records, figures.Delivered);
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
        // A restarted member waits for the killed one's session to expire, and says so.
        Assert.Contains(harness.Processes.Skip(1).SelectMany(p => p.Lines), l => l.Contains("waiting for the group kill", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task An_mqtt_spec_without_client_id_killed_three_times_loses_no_message()
    {
        PrivateBroker.RequireMosquitto();
        const int Chunk = 3_000;
        const int Chunks = 10;
        using var harness = new KillRestartHarness(output);
        using var broker = PrivateBroker.Start();
        var csv = KillRestartHarness.WriteCsv(Path.Combine(harness.Folder, "source.csv"), Chunk * Chunks);
        var folder = Path.Combine(harness.Folder, "out");
        var spec = Path.Combine(harness.Folder, "mqtt.yaml");
        // No client_id: the session must still survive a restart (the id comes from the pipeline name).
        File.WriteAllText(spec, $$"""
            name: mqtt-to-parquet
            options: { flush_interval: 200ms }
            source:
              kind: mqtt
              host: 127.0.0.1
              port: {{broker.Port}}
              topics: [plant/+/reading]
              columns: { id: int64, amount: float64, label: string }
            sinks:
              - { kind: parquet, path: out, roll_seconds: 1 }
            """);
        string[] arguments = ["run", spec, "--plain"];
        var sent = 0;
        Task PublishChunkAsync()
        {
            var first = sent;
            sent += Chunk;
            return MqttTestClient.PublishAsync("127.0.0.1", broker.Port,
                Enumerable.Range(first, Chunk).Select(i => ($"plant/d{i % 4}/reading", Json(i))));
        }
        static bool Connected(StreamMl.Host.Tests.Kafka.StreamMlProcess p) => p.Lines.Any(l => l.Contains("connected as ", StringComparison.Ordinal));

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            var published = false;
            // Publish while connected (mosquitto keeps only 1,000 queued messages for an offline session), wait for a
            // part, publish more and kill while those are in flight.
            Assert.True(await harness.StartAndKillAsync(arguments, p =>
            {
                if (!published && Connected(p))
                {
                    published = true;
                    PublishChunkAsync().GetAwaiter().GetResult();
                }
                if (!published || KillRestartHarness.PublishedParts(folder) < before + 1) return false;
                PublishChunkAsync().GetAwaiter().GetResult();
                return true;
            }, TimeSpan.FromMinutes(2)));
        }
        var last = harness.Start(arguments);
        await KillRestartHarness.WaitUntilAsync(() => Connected(last), TimeSpan.FromSeconds(60), "the last run to connect", last);
        while (sent < Chunk * Chunks)
        {
            await PublishChunkAsync();
            await KillRestartHarness.WaitUntilAsync(() => OutputComparison.DistinctIds(folder) >= sent, TimeSpan.FromMinutes(1), $"{sent} messages in the output", last);
        }
        last.Terminate();
        Assert.True(await last.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var figures = OutputComparison.Compare("spec mqtt -> parquet", csv, folder, harness.Kills);
        output.WriteLine(figures.ToString());
        // At least once: messages published but not yet acknowledged at a kill come again, in this run's own files.
        Assert.Equal((0L, 0L), (figures.Lost, figures.Invented));
        Assert.Equal(Chunk * Chunks + figures.Duplicated, figures.Delivered);
        Assert.All(harness.Processes.Skip(1), p => Assert.Contains(p.Lines, l => l.Contains("(session resumed)", StringComparison.Ordinal)));
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parts: {KillRestartHarness.PublishedParts(folder)}"));
    }

    [Fact]
    public async Task An_http_spec_with_a_checkpoint_killed_three_times_loses_no_record_and_keeps_every_run_s_files()
    {
        const int Records = 20_000;
        using var harness = new KillRestartHarness(output);
        using var server = new TestApiServer(Records);
        // The records as the server sends them: id, sensor.temp, sensor.name.
        var csv = Path.Combine(harness.Folder, "source.csv");
        File.WriteAllLines(csv, ["id,amount,label", .. Enumerable.Range(0, Records).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{i},{Math.Round(18 + i * 0.25, 2).ToString("R", CultureInfo.InvariantCulture)},s{i % 4}"))]);
        var folder = Path.Combine(harness.Folder, "out");
        var spec = Path.Combine(harness.Folder, "http.yaml");
        File.WriteAllText(spec, $$"""
            name: http-to-parquet
            options: { flush_interval: 100ms }
            source:
              kind: http
              url: {{server.Url("/nextlink")}}
              columns: { id: int64, amount: float64, label: string }
              records: $.data.items
              paths: { amount: $.sensor.temp, label: $.sensor.name }
              pagination: next_link
              requests_per_second: 40
              stop_at_end: true
              checkpoint: api.json
            sinks:
              - { kind: parquet, path: out, roll_seconds: 0.5 }
            """);
        string[] arguments = ["run", spec, "--plain"];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            Assert.True(await harness.StartAndKillAsync(arguments, _ => KillRestartHarness.PublishedParts(folder) >= before + 1, TimeSpan.FromMinutes(2)));
        }
        var beforeLast = Directory.GetFiles(folder, "*.parquet").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var last = await harness.RunToEndAsync(arguments, TimeSpan.FromMinutes(3));

        var figures = OutputComparison.Compare("spec http -> parquet", csv, folder, harness.Kills);
        output.WriteLine(figures.ToString());
        Assert.Equal(0, last.ExitCode);
        // At least once: a page read again after a kill is written again, in the new run's own files; none is lost.
        Assert.Equal((0L, 0L), (figures.Lost, figures.Invented));
        Assert.Equal(Records + figures.Duplicated, figures.Delivered);
        // Positions restart with each run: the earlier runs' files are all still there, unchanged.
        Assert.All(beforeLast, f => Assert.Equal(f.Value, File.GetLastWriteTimeUtc(f.Key)));
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
    }
}
