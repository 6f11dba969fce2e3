using StreamMl.Host.Tests.Kafka;

namespace StreamMl.Host.Tests.Hosting;

/// <summary><c>streamml run --memory-budget</c> is read as <c>serve</c> and <c>validate</c> read it, and a ring over
/// it is refused at the spec's line and column before the pipeline starts; checked on real processes, so a ring that
/// were allocated would end a child process, not the test run.</summary>
public sealed class RunMemoryBudgetTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-run-budget-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A gRPC-fed pipeline of three columns with the given ring.</summary>
    private static string Spec(string name, int ringSize, int batchCapacity) => $$"""
        name: {{name}}
        options: { batch_capacity: {{batchCapacity}}, ring_size: {{ringSize}} }
        source: { kind: grpc, columns: { device: string, temperature: float32, vibration: float32 } }
        sinks: [ { kind: memory } ]
        """;

    private Task<(int Code, string Output)> RunAsync(string spec, params string[] options) => RunForAsync(spec, "00:00:05", options);

    private async Task<(int Code, string Output)> RunForAsync(string spec, string duration, params string[] options)
    {
        var path = Path.Combine(_folder, "spec.yaml");
        File.WriteAllText(path, spec);
        using var process = StreamMlProcess.Start("run", ["run", path, "--plain", "--duration", duration, .. options]);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "run did not finish");
        return (process.ExitCode, string.Join('\n', process.Lines));
    }

    [Fact]
    public async Task Run_refuses_the_ring_of_the_report_over_the_given_budget_at_the_options_line()
    {
        var spec = Spec("huge", 65536, 1048576);
        var (code, output) = await RunAsync(spec, "--memory-budget", "8GiB");
        // Before: exit 2, "Unrecognized command or argument '--memory-budget'".
        Assert.True(code == 3, $"exit code {code}: {output}");
        var path = Path.Combine(_folder, "spec.yaml");
        var column = spec.Split('\n')[1].IndexOf("1048576", StringComparison.Ordinal) + 1;
        Assert.Contains($"{path}:2:{column}: error: the pipeline's ring needs about ", output);
        Assert.Contains("options.ring_size 65,536 batches × options.batch_capacity 1,048,576 rows", output);
        Assert.Contains("over the host's memory budget of 8 GiB: lower options.batch_capacity or options.ring_size", output);
        // Refused before it started: no progress line was printed.
        Assert.DoesNotContain("huge: running", output);
    }

    [Fact]
    public async Task Run_refuses_a_ring_that_fits_the_default_budget_but_not_the_given_one()
    {
        // 64 batches × 65,536 rows × about 33 bytes ≈ 130 MiB: fine by default, over a 64 MiB budget.
        var (code, output) = await RunAsync(Spec("mid", 64, 65536), "--memory-budget", "64MiB");
        Assert.True(code == 3, $"exit code {code}: {output}");
        Assert.Contains("over the host's memory budget of 64 MiB", output);
        Assert.DoesNotContain("mid: running", output);
    }

    [Fact]
    public async Task Run_within_the_given_budget_runs()
    {
        var (code, output) = await RunForAsync(Spec("small", 4, 256), "00:00:01", "--memory-budget", "64MiB");
        Assert.True(code == 0, $"exit code {code}: {output}");
        Assert.Contains("small: ", output);
    }

    [Fact]
    public async Task Run_with_a_budget_it_cannot_read_is_a_usage_error()
    {
        var (code, output) = await RunAsync(Spec("small", 4, 256), "--memory-budget", "lots");
        Assert.True(code == 2, $"exit code {code}: {output}");
        Assert.Contains("error: the memory budget 'lots' is not a size: write bytes with a unit (8GiB, 512MB, 1073741824) or a share of memory (25%)", output);
    }
}
