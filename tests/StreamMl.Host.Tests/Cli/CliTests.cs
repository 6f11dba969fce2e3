using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Cli;

/// <summary>The streamml command line: exit codes and messages.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("--infer-threshold", "abc", "a number")]
    [InlineData("--sample", "many", "a whole number")]
    public async Task A_value_of_the_wrong_kind_is_named_in_words_not_as_a_dotnet_type(string option, string value, string expected)
    {
        // Before: "error: Cannot parse argument 'abc' for option '--infer-threshold' as expected type 'System.Double'."
        var run = await RunAsync("ingest", Write("d.csv", "a\n1\n"), "-o", Path.Combine(_folder, "out"), option, value);
        Assert.Equal(ExitCodes.Usage, run.Code);
        Assert.Contains($"error: Cannot parse argument '{value}' for option '{option}': expected {expected}.", run.Error);
        Assert.DoesNotContain("System.", run.Error);
    }

    [Fact]
    public async Task Bench_with_an_address_measures_Score_on_a_host_in_another_process()
    {
        await using var server = await StreamMl.Host.Hosting.StreamMlServer.StartAsync(new StreamMl.Host.Hosting.StreamMlOptions { Port = 0, MetricsPort = -1 });
        var run = await RunAsync("bench", "--address", server.Address, "--rate", "200", "--seconds", "1");

        Assert.Equal(ExitCodes.Ok, run.Code);
        Assert.Contains("host in another process: p50 ", run.Output);
        Assert.Contains("over 200 calls", run.Output);
        // The calls reached that host: it created the bench pipeline and timed warm-up and measured calls itself.
        var manager = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<StreamMl.Host.Pipelines.PipelineManager>(server.Services);
        var pipeline = Assert.Single(manager.All);
        Assert.True(pipeline.ScoreLatency.Snapshot().Count >= 200, $"{pipeline.ScoreLatency.Snapshot().Count} calls timed by the host");
    }

    [Fact]
    public async Task Bench_oip_interleaves_Score_ModelInfer_and_the_ServerLive_floor_and_pools_the_rounds()
    {
        await using var server = await StreamMl.Host.Hosting.StreamMlServer.StartAsync(new StreamMl.Host.Hosting.StreamMlOptions { Port = 0, MetricsPort = -1 });
        var run = await RunAsync("bench", "--oip", "--address", server.Address, "--rate", "300", "--seconds", "1", "--rounds", "2", "--batch", "64");

        Assert.Equal(ExitCodes.Ok, run.Code);
        var rows = run.Output.Split('\n').Where(line => line.Contains(" | ", StringComparison.Ordinal)).Select(line => line.Split(" | ")).ToList();
        var header = rows[0];
        Assert.Contains("ServerLive p50 / p99 / p99.9", header);
        var callsEach = Array.IndexOf(header, "calls each");
        // 300 calls/s in all for 1 s, shared by three kinds of call: 100 of each per round, 200 in the pooled line.
        Assert.Equal(["100", "100"], rows.Where(r => r[0] is "1" or "2").Select(r => r[callsEach]).ToArray());
        var pooled = Assert.Single(rows, r => r[0] == "all rounds");
        Assert.Equal("200", pooled[callsEach]);
        var liveP50 = int.Parse(pooled[Array.IndexOf(header, "ServerLive p50 / p99 / p99.9")].Split(" / ")[0], System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(liveP50 > 0, run.Output);
    }

    [Fact]
    public async Task Validate_exits_0_for_a_good_spec_and_3_with_file_line_column_errors_for_a_bad_one()
    {
        var good = Write("good.yaml", "name: good\nsource: { kind: synthetic, rows: 10 }\nsinks: [ { kind: memory } ]\n");
        var bad = Write("bad.yaml", "name: bad\nsource: { kind: synthetic, rows: -5 }\nsinks: [ { kind: nowhere } ]\n");
        var ok = await RunAsync("validate", good);
        Assert.Equal(ExitCodes.Ok, ok.Code);
        Assert.Contains("good.yaml: ok", ok.Output);

        var failed = await RunAsync("validate", good, bad);
        Assert.Equal(ExitCodes.InvalidSpec, failed.Code);
        var lines = File.ReadAllLines(bad);
        Assert.Contains($"{bad}:2:{lines[1].IndexOf("-5", StringComparison.Ordinal) + 1}: error: 'source.rows' must be at least 0, got -5", failed.Error);
        Assert.Contains($"{bad}:3:{lines[2].IndexOf("nowhere", StringComparison.Ordinal) + 1}: error: unknown sink kind 'nowhere'", failed.Error);
        Assert.Contains("2 error(s)", failed.Error);
    }

    [Fact]
    public async Task Validate_of_a_missing_file_exits_6()
    {
        var result = await RunAsync("validate", Path.Combine(_folder, "absent.yaml"));
        Assert.Equal(ExitCodes.NotFound, result.Code);
        Assert.Contains("does not exist", result.Error);
    }

    [Fact]
    public async Task Unknown_commands_and_options_exit_2()
    {
        Assert.Equal(ExitCodes.Usage, (await RunAsync("frobnicate")).Code);
        var result = await RunAsync("serve", "--no-such-option");
        Assert.Equal(ExitCodes.Usage, result.Code);
        Assert.Contains("--no-such-option", result.Error);
    }

    [Fact]
    public async Task Run_processes_a_bounded_spec_to_the_end()
    {
        var spec = Write("run.yaml", """
            name: run-test
            source: { kind: synthetic, rows: 50000, features: 2 }
            drift: { features: [f0, f1], reference_rows: 1000, window_rows: 5000 }
            sinks: [ { kind: memory, keep_rows: 0 } ]
            """);
        var result = await RunAsync("run", spec, "--plain");
        Assert.Equal(ExitCodes.Ok, result.Code);
        Assert.Contains("run-test: completed", result.Output);
        Assert.Contains("Sink memory: in=50000 out=50000", result.Output);
    }

    [Fact]
    public async Task Run_with_a_bad_spec_exits_3()
    {
        var spec = Write("run-bad.yaml", "name: x\nsource: { kind: synthetic }\nsinks: [ { kind: memory, keep_rows: lots } ]\n");
        var result = await RunAsync("run", spec);
        Assert.Equal(ExitCodes.InvalidSpec, result.Code);
        Assert.Contains(":3:", result.Error);
    }

    [Fact]
    public async Task Drift_report_without_a_host_exits_4_and_says_how_to_start_one()
    {
        // Port 1 on loopback: nothing listens there.
        var result = await RunAsync("drift", "report", "--pipeline", "p", "--address", "http://127.0.0.1:1");
        Assert.Equal(ExitCodes.Unavailable, result.Code);
        Assert.Contains("streamml serve", result.Error);
    }

    [Fact]
    public async Task Serve_hash_key_prints_the_SHA256_that_configuration_expects()
    {
        var result = await RunAsync("serve", "--hash-key", "abc");
        Assert.Equal(ExitCodes.Ok, result.Code);
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", result.Output.Trim());
    }
}

/// <summary>The README's main job, end to end: it must train, serve, stream, alert on the injected drift and write Parquet.</summary>
public sealed class DemoTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-demo-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_demo_trains_serves_streams_detects_the_drift_and_writes_Parquet()
    {
        var output = new StringWriter();
        var code = await CliApp.RunAsync(["demo", "--output", _folder, "--rows", "60000"], output, output);
        var text = output.ToString();
        Assert.True(code == ExitCodes.Ok, text);
        Assert.Contains("registered sensor-fault version 1 (production)", text);
        Assert.Contains("ALERT: feature 'temperature' drifted", text);
        Assert.Contains("rows streamed:     60,000", text);
        var parquet = Directory.GetFiles(Path.Combine(_folder, "scored"), "*.parquet", SearchOption.AllDirectories);
        Assert.NotEmpty(parquet);
        // Read the Parquet back with Parquet.Net's reader (not the sink's code path).
        long rows = 0;
        foreach (var file in parquet)
        {
            await using var stream = File.OpenRead(file);
            await using var reader = await global::Parquet.ParquetReader.CreateAsync(stream);
            Assert.Contains(reader.Schema.GetDataFields(), f => f.Name == "score");
            for (var g = 0; g < reader.RowGroupCount; g++) rows += reader.OpenRowGroupReader(g).RowCount;
        }
        // Every streamed row is either in the Parquet output or a dead letter (the demo injects sensor glitches).
        var deadLetters = long.Parse(System.Text.RegularExpressions.Regex.Match(text, @"dead letters:\s+([\d,]+)").Groups[1].Value.Replace(",", ""),
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(deadLetters, 1, 600);
        Assert.Equal(60_000, rows + deadLetters);

        await DriftAgainstTheModelsTrainingProfileAsync(Path.Combine(_folder, "models"));
    }

    /// <summary>With the model the demo registered: its fitted feature pipeline computes the features and the drift
    /// area's DriftOperator, fed by Ingest, compares event-time windows of them with the model's training profile;
    /// shifted temperatures must raise an alert on the temperature feature only.</summary>
    private static async Task DriftAgainstTheModelsTrainingProfileAsync(string registry)
    {
        var catalog = new Models.ModelCatalog();
        Models.RegistryModels.Attach(catalog, registry);
        await using var manager = new StreamMl.Host.Pipelines.PipelineManager(StreamMl.Host.Specs.ComponentRegistry.CreateDefault(), catalog,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<StreamMl.Host.Pipelines.PipelineManager>.Instance);
        var pipeline = await manager.CreateAsync("""
            name: profile-drift
            source:
              kind: grpc
              columns: { device: string, temperature: float32, vibration: float32, pressure: float32, fault: bool, ts: timestamp }
              event_time: ts
            features: { model: sensor-fault }
            drift: { reference: model, model: sensor-fault, window: 40s }
            sinks: [ { kind: memory, keep_rows: 0 } ]
            """, start: true, replace: false, null, CancellationToken.None);
        var alerts = pipeline.Runtime.Events.Subscribe(rows: false, []);
        // 10 ms between rows: windows of 40 s hold 4,000 rows; the drift starts at row 12,000 (window 3).
        var data = new Demo.DemoData(seed: 7, driftFrom: 12_000);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 6; i++)
            await pipeline.Runtime.Ingest!.AcceptAsync(new Protos.IngestRequest
            {
                ArrowIpc = Google.Protobuf.ByteString.CopyFrom(data.NextBatch(4000, start)),
            }, "test", CancellationToken.None);
        // Stop only once the pipeline has read every queued row: a stop drains the ring, not the Ingest queue.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (pipeline.Runtime.Memory!.Rows < 24_000 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(24_000, pipeline.Runtime.Memory!.Rows);
        await manager.StopAsync("profile-drift", CancellationToken.None);

        var report = pipeline.Runtime.Drift!.Report("profile-drift", 0);
        Assert.True(report.Windows.Count >= 5, report.ToString());
        Assert.All(report.Windows.Take(2), w => Assert.NotEqual("drift", w.Features.Single(f => f.Feature == "f_temperature").Status));
        Assert.Equal("drift", report.Windows[4].Features.Single(f => f.Feature == "f_temperature").Status);
        Assert.NotEqual("drift", report.Windows[4].Features.Single(f => f.Feature == "f_pressure").Status);
        // The profile covers the raw inputs and the features: only temperature and its feature may alert.
        var alerted = new List<string>();
        while (alerts.Reader.TryRead(out var e)) alerted.Add(e.Alert.Feature);
        Assert.Contains("f_temperature", alerted);
        Assert.All(alerted, feature => Assert.Contains(feature, new[] { "temperature", "f_temperature" }));
    }
}
