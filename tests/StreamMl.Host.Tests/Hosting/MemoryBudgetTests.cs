using StreamMl.Host.Tests.Cli;
using Grpc.Core;
using Grpc.Net.Client;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>A pipeline whose ring would not fit the host's memory budget is refused at validate and create time,
/// naming the options that size it, instead of growing the host until the OOM killer ends it.</summary>
[Collection(HostCollection.Name)]
public sealed class MemoryBudgetTests(HostFixture host) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-memory-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The spec of the report: 65,536 batches of 1,048,576 rows.</summary>
    private static string Huge(string name) => $$"""
        name: {{name}}
        options: { batch_capacity: 1048576, ring_size: 65536 }
        source: { kind: grpc, columns: { device: string, temperature: float32, vibration: float32 } }
        sinks: [ { kind: memory } ]
        """;

    /// <summary>A gRPC-fed pipeline of five float32 columns.</summary>
    private static string Sized(string name, int ringSize, int batchCapacity) => $$"""
        name: {{name}}
        options: { batch_capacity: {{batchCapacity}}, ring_size: {{ringSize}} }
        source: { kind: grpc, columns: { a: float32, b: float32, c: float32, d: float32, e: float32 } }
        sinks: [ { kind: memory } ]
        """;

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    private static int ColumnOf(string text, string what)
    {
        var line = text.Split('\n')[1];
        return line.IndexOf(what, StringComparison.Ordinal) + 1;
    }

    [Fact]
    public async Task Validate_refuses_the_ring_of_the_report_at_the_options_line_with_the_default_and_a_given_budget()
    {
        var path = Path.Combine(_folder, "huge.yaml");
        File.WriteAllText(path, Huge("huge"));
        var column = ColumnOf(Huge("huge"), "1048576");

        // Before: "huge.yaml: ok", exit 0, and starting it grew the host to ~21 GB until the OOM killer ended it.
        var byDefault = await RunAsync("validate", path);
        Assert.Equal(ExitCodes.InvalidSpec, byDefault.Code);
        Assert.Contains($"{path}:2:{column}: error: the pipeline's ring needs about ", byDefault.Error);
        Assert.Contains("options.ring_size 65,536 batches × options.batch_capacity 1,048,576 rows", byDefault.Error);
        Assert.Contains("(3 column(s)), over the host's memory budget of ", byDefault.Error);

        var given = await RunAsync("validate", "--memory-budget", "8GiB", path);
        Assert.Equal(ExitCodes.InvalidSpec, given.Code);
        Assert.Contains("over the host's memory budget of 8 GiB: lower options.batch_capacity or options.ring_size", given.Error);

        // The budget decides: with room for 2 TiB the same spec is fine.
        var roomy = await RunAsync("validate", "--memory-budget", "3TiB", path);
        Assert.Equal(ExitCodes.Ok, roomy.Code);
    }

    [Fact]
    public async Task Validate_with_a_budget_it_cannot_read_is_a_usage_error()
    {
        var path = Path.Combine(_folder, "small.yaml");
        File.WriteAllText(path, Sized("small", 4, 256));
        var run = await RunAsync("validate", "--memory-budget", "lots", path);
        Assert.Equal(ExitCodes.Usage, run.Code);
        Assert.Contains("the memory budget 'lots' is not a size: write bytes with a unit (8GiB, 512MB, 1073741824) or a share of memory (25%)", run.Error);
    }

    [Fact]
    public async Task CreatePipeline_refuses_the_ring_of_the_report_and_the_host_keeps_serving()
    {
        var spec = Huge("memory-huge");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec, Start = true }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"line 2, column {ColumnOf(spec, "1048576")}: the pipeline's ring needs about ", ex.Status.Detail);
        Assert.False(host.Pipelines.TryGet("memory-huge", out _));
        await host.Control().ListPipelinesAsync(new ListPipelinesRequest());
    }

    [Fact]
    public async Task The_budget_counts_every_pipeline_of_the_host()
    {
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1, MemoryBudget = "64MiB" };
        await using var server = await StreamMlServer.StartAsync(options);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var control = new Control.ControlClient(channel);
        // 4 × 262,144 rows × (20.125 + 5 × 4.125) bytes ≈ 40.8 MiB each: one fits, two do not.
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = Sized("first", 4, 262_144), Start = true });

        var ex = await Assert.ThrowsAsync<RpcException>(() => control.CreatePipelineAsync(new CreatePipelineRequest { Spec = Sized("second", 4, 262_144) }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("pipeline 'second': the pipeline's ring needs about ", ex.Status.Detail);
        Assert.Contains("with the 1 pipeline(s) already here (", ex.Status.Detail);
        Assert.Contains("over the host's memory budget of 64 MiB", ex.Status.Detail);

        await control.DeletePipelineAsync(new PipelineRef { Name = "first" });
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = Sized("second", 4, 262_144), Start = true });
    }
}
