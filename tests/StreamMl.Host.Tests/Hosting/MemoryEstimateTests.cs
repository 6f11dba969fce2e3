using Microsoft.Extensions.DependencyInjection;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>The memory estimate that the budget is checked against, compared with what the engine really allocates.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class MemoryEstimateTests
{
    [Fact]
    public async Task The_estimate_matches_the_native_memory_a_started_ring_allocates()
    {
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        await using var server = await StreamMlServer.StartAsync(options);
        var manager = server.Services.GetRequiredService<PipelineManager>();
        var spec = """
            name: measured
            options: { batch_capacity: 65536, ring_size: 16 }
            source: { kind: grpc, columns: { device: string, t: float64, v: float32, n: int64, ok: bool, at: timestamp } }
            sinks: [ { kind: memory } ]
            """;
        var pipeline = await manager.CreateAsync(spec, start: false, replace: false, null, CancellationToken.None);
        var before = NativeBuffer.LiveBytes;
        await manager.StartAsync("measured", CancellationToken.None);
        var allocated = NativeBuffer.LiveBytes - before;
        var estimate = MemoryEstimate.Of(pipeline.Spec, pipeline.OutputSchema).Bytes;
        Assert.InRange(allocated, estimate * 0.95, estimate * 1.05);
    }
}
