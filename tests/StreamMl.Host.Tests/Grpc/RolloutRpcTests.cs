using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Control.StartRollout / GetRollout over gRPC on a real host: the candidate goes shadow → 50 % → promoted as
/// Score calls feed it (the host ticks once a second), the deployment follows, and bad requests get clear errors.</summary>
[Collection(HostCollection.Name)]
public sealed class RolloutRpcTests(HostFixture host)
{
    [Fact]
    public async Task A_rollout_started_over_grpc_moves_the_deployment_to_promotion()
    {
        var control = host.Control();
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("ro-b-source", "ro-b", other: true), Replace = true });
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("ro", "ro-a"), Replace = true });
        var request = new StartRolloutRequest
        {
            Pipeline = "ro", Candidate = new ModelRef { Name = "ro-b", Version = "1" }, MinRows = 100, MinDurationSeconds = 1,
            MaxDurationSeconds = 120, MinLabels = -1, MaxScorePsi = 1000, MaxScoreKs = 1, MaxLatencyRatio = 1000,
            // the two test models score the sensors very differently, and wall-clock p99s on a shared machine are noisy:
            // this test is about the RPC path (the guardrails have their own tests)
        };
        request.Steps.Add([0, 0.5]);

        var bad = request.Clone();
        bad.Steps.Clear();
        bad.Steps.Add(1);
        var refused = await Assert.ThrowsAsync<RpcException>(() => control.StartRolloutAsync(bad).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("steps[0] is 1", refused.Status.Detail);

        var started = await control.StartRolloutAsync(request);
        Assert.Equal("shadow", started.Phase);
        Assert.Equal("ro-b", (await control.GetStatusAsync(new PipelineRef { Name = "ro" })).Model.Shadows.Single().Name);
        var twice = await Assert.ThrowsAsync<RpcException>(() => control.StartRolloutAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, twice.StatusCode);

        var data = host.DataPlane();
        var rows = TestSpecs.ToRowSet(TestSpecs.Readings(400, seed: 31));
        RolloutStatus status = started;
        await Eventually.TrueAsync(async () =>
        {
            await data.ScoreAsync(new ScoreRequest { Pipeline = "ro", Rows = rows });
            status = await control.GetRolloutAsync(new PipelineRef { Name = "ro" });
            return status.Phase is "promoted" or "rolled-back";
        }, "the rollout to finish", seen: () => status.ToString());

        Assert.True(status.Phase == "promoted", status.Reason);
        Assert.Equal(["shadow", "canary", "promoted"], status.Events.Select(e => e.Action));
        Assert.Equal(0.5, status.Events[1].Weight);
        var deployment = (await control.GetStatusAsync(new PipelineRef { Name = "ro" })).Model;
        Assert.Equal("ro-b", deployment.Primary.Name);
        Assert.Empty(deployment.Shadows);
        Assert.Null(deployment.Candidate);
    }
}
