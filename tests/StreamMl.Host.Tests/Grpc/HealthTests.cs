using Grpc.Core;
using Grpc.Health.V1;
using StreamMl.Host.Protos;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Health per pipeline and per model through grpc.health.v1.Health (issue 12 item 17). Before: every service
/// name other than "" answered NOT_FOUND, and "" answered SERVING whatever the pipelines did.</summary>
[Collection(HostCollection.Name)]
public sealed class HealthTests(HostFixture host)
{
    private Health.HealthClient Health() => new(host.Channel(null)); // health needs no key

    private async Task<ServingStatus> CheckAsync(string service) =>
        (await Health().CheckAsync(new HealthCheckRequest { Service = service })).Status;

    [Fact]
    public async Task A_pipeline_is_serving_only_while_it_runs_and_unknown_names_are_not_found()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("health-p", model: "linear-health"), Replace = true });
        Assert.Equal(ServingStatus.NotServing, await CheckAsync("pipeline/health-p"));
        Assert.Equal(ServingStatus.NotServing, await CheckAsync("model/linear-health"));

        await host.Control().StartPipelineAsync(new PipelineRef { Name = "health-p" });
        Assert.Equal(ServingStatus.Serving, await CheckAsync("pipeline/health-p"));
        Assert.Equal(ServingStatus.Serving, await CheckAsync("model/linear-health"));
        Assert.Equal(ServingStatus.Serving, await CheckAsync("model/linear-health@1"));
        Assert.Equal(ServingStatus.Serving, await CheckAsync("streamml.v1.DataPlane"));
        Assert.Equal(ServingStatus.Serving, await CheckAsync(""));

        await host.Control().StopPipelineAsync(new PipelineRef { Name = "health-p" });
        Assert.Equal(ServingStatus.NotServing, await CheckAsync("pipeline/health-p"));
        Assert.Equal(ServingStatus.NotServing, await CheckAsync("model/linear-health"));

        foreach (var unknown in new[] { "pipeline/no-such", "model/no-such", "model/linear-health@9", "nonsense", "pipeline/" })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await CheckAsync(unknown));
            Assert.Equal(StatusCode.NotFound, ex.StatusCode);
            Assert.StartsWith($"health: unknown service '{unknown}'", ex.Status.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("health-p", ex.Status.Detail, StringComparison.Ordinal);
        }

        await host.Control().DeletePipelineAsync(new PipelineRef { Name = "health-p" });
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await CheckAsync("pipeline/health-p"))).StatusCode);
    }

    [Fact]
    public async Task Watch_streams_each_change_of_a_pipeline_and_SERVICE_UNKNOWN_for_unknown_names()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("health-w", model: "linear-health-w"), Replace = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var watch = Health().Watch(new HealthCheckRequest { Service = "pipeline/health-w" }, cancellationToken: timeout.Token);
        async Task<ServingStatus> NextAsync()
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
            return watch.ResponseStream.Current.Status;
        }
        Assert.Equal(ServingStatus.NotServing, await NextAsync());
        await host.Control().StartPipelineAsync(new PipelineRef { Name = "health-w" });
        Assert.Equal(ServingStatus.Serving, await NextAsync());
        await host.Control().StopPipelineAsync(new PipelineRef { Name = "health-w" });
        Assert.Equal(ServingStatus.NotServing, await NextAsync());

        using var unknown = Health().Watch(new HealthCheckRequest { Service = "pipeline/never-created" }, cancellationToken: timeout.Token);
        Assert.True(await unknown.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(ServingStatus.ServiceUnknown, unknown.ResponseStream.Current.Status);
    }

    /// <summary>Before: a gRPC ingest pipeline with no client reported its source busy for all of its uptime, because the
    /// source's wait for the next message counted as work.</summary>
    [Fact]
    public async Task An_idle_ingest_source_is_not_busy()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("busy-idle", model: "linear-busy"), Replace = true, Start = true });
        PipelineStatus status;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do status = await host.Control().GetStatusAsync(new PipelineRef { Name = "busy-idle" });
        while (status.UptimeSeconds < 2 && DateTime.UtcNow < deadline && await Pause());
        Assert.True(status.UptimeSeconds >= 2, "the pipeline did not stay up");
        var source = status.Stages[0];
        Assert.Equal("source", source.Kind);
        Assert.True(source.BusyMs < status.UptimeSeconds * 1000 / 4,
            $"source busy {source.BusyMs} ms of {status.UptimeSeconds * 1000} ms uptime with no client");
        Assert.True(source.IdleMs > status.UptimeSeconds * 1000 / 2, $"source idle {source.IdleMs} ms of {status.UptimeSeconds * 1000} ms uptime");
        await host.Control().StopPipelineAsync(new PipelineRef { Name = "busy-idle" });
    }

    private static async Task<bool> Pause()
    {
        await Task.Delay(100);
        return true;
    }
}
