using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Cli;

/// <summary>The streamml command line: exit codes and messages.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
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
    }
}
