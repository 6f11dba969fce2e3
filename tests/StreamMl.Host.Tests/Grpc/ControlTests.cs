using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>The Control service and the model queries, end to end.</summary>
[Collection(HostCollection.Name)]
public sealed class ControlTests(HostFixture host)
{
    private Task<PipelineInfo> CreateAsync(string name, string model, bool other = false, bool start = false) =>
        host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name, model, other), Start = start, Replace = true }).ResponseAsync;

    [Fact]
    public async Task A_pipeline_goes_through_create_start_stop_and_delete()
    {
        var control = host.Control();
        var created = await CreateAsync("lifecycle", "lc-model");
        Assert.Equal("created", created.State);
        Assert.Equal("grpc", created.Source);
        Assert.Equal(["model", "drift"], created.Operators);
        Assert.Equal(["memory"], created.Sinks);
        Assert.Contains("temperature:float32", created.InputColumns);

        Assert.Contains(control.ListPipelines(new ListPipelinesRequest()).Pipelines, p => p.Name == "lifecycle");
        Assert.Equal("running", (await control.StartPipelineAsync(new PipelineRef { Name = "lifecycle" })).State);
        var status = await control.GetStatusAsync(new PipelineRef { Name = "lifecycle" });
        Assert.Equal(["grpc", "model", "drift", "memory", "subscribers"], status.Stages.Select(s => s.Name));
        Assert.Equal(4, status.RingSize);
        Assert.Equal("lc-model", status.Model.Primary.Name);

        Assert.Equal("stopped", (await control.StopPipelineAsync(new PipelineRef { Name = "lifecycle" })).State);
        // A stopped pipeline can run again (a new engine pipeline is built from the same spec).
        Assert.Equal("running", (await control.StartPipelineAsync(new PipelineRef { Name = "lifecycle" })).State);
        Assert.Equal("deleted", (await control.DeletePipelineAsync(new PipelineRef { Name = "lifecycle" })).State);
        Assert.DoesNotContain(control.ListPipelines(new ListPipelinesRequest()).Pipelines, p => p.Name == "lifecycle");
        var ex = await Assert.ThrowsAsync<RpcException>(() => control.GetStatusAsync(new PipelineRef { Name = "lifecycle" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Deploy_promote_rollback_split_and_shadow_change_which_model_scores()
    {
        await CreateAsync("deploy-b-source", "model-b", other: true); // registers model-b@1
        await CreateAsync("deploy", "model-a");
        var control = host.Control();
        var data = host.DataPlane();
        var readings = TestSpecs.Readings(400, seed: 20);
        var rows = TestSpecs.ToRowSet(readings);

        async Task<ScoreResponse> Score() => await data.ScoreAsync(new ScoreRequest { Pipeline = "deploy", Rows = rows });

        // Candidate with 30% of the traffic, routed by device.
        var deployment = await control.DeployModelAsync(new DeployModelRequest { Pipeline = "deploy", Model = new ModelRef { Name = "model-b", Version = "1" }, CandidateTraffic = 0.3 });
        Assert.Equal("model-a", deployment.Primary.Name);
        Assert.Equal("model-b", deployment.Candidate.Name);
        var split = await Score();
        var byDevice = split.Scores.Select((s, i) => (readings[i].Device, s.Model)).GroupBy(p => p.Device).ToList();
        Assert.All(byDevice, g => Assert.Single(g.Select(p => p.Model).Distinct())); // a device always lands on the same model
        var candidateShare = split.Scores.Count(s => s.Model == "model-b@1") / (double)split.Scores.Count;
        Assert.InRange(candidateShare, 0.1, 0.5);
        for (var i = 0; i < readings.Count; i++)
        {
            var r = readings[i];
            TestSpecs.AssertClose(TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure, other: split.Scores[i].Model == "model-b@1"), split.Scores[i].Score);
        }

        await control.SetTrafficSplitAsync(new TrafficSplitRequest { Pipeline = "deploy", CandidateTraffic = 0 });
        Assert.All((await Score()).Scores, s => Assert.Equal("model-a@1", s.Model));

        deployment = await control.PromoteModelAsync(new PipelineRef { Name = "deploy" });
        Assert.Equal("model-b", deployment.Primary.Name);
        Assert.Equal("model-a", deployment.Previous.Name);
        Assert.All((await Score()).Scores, s => Assert.Equal("model-b@1", s.Model));

        deployment = await control.RollbackModelAsync(new PipelineRef { Name = "deploy" });
        Assert.Equal("model-a", deployment.Primary.Name);
        var back = await Score();
        TestSpecs.AssertClose(TestSpecs.Reference(readings[0].Temperature, readings[0].Vibration, readings[0].Pressure), back.Scores[0].Score);

        // A shadow scores every row without answering; its agreement with the primary is computed here too.
        await control.SetShadowModelsAsync(new ShadowModelsRequest { Pipeline = "deploy", Shadows = { new ModelRef { Name = "model-b", Version = "1" } } });
        Assert.All((await Score()).Scores, s => Assert.Equal("model-a@1", s.Model));
        var metrics = await host.Query().GetMetricsAsync(new MetricsRequest { Pipeline = "deploy" });
        var agree = readings.Count(r => TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure) >= 0.5 == TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure, other: true) >= 0.5);
        Assert.Equal(readings.Count, metrics.Model.ShadowRows);
        Assert.Equal(agree / (double)readings.Count, metrics.Model.ShadowAgreement, 6);

        var models = await host.Query().ListModelsAsync(new ListModelsRequest { Name = "model-b" });
        var b = Assert.Single(models.Models);
        Assert.Contains("deploy:shadow", b.Deployments);
        Assert.Contains("deploy-b-source:primary", b.Deployments);
        Assert.Equal("linear", b.Kind);
        Assert.Equal(["temperature", "vibration", "pressure"], b.Inputs);
    }

    [Fact]
    public async Task Deploy_errors_name_the_problem()
    {
        await CreateAsync("deploy-errors", "model-e");
        var control = host.Control();
        var missing = await Assert.ThrowsAsync<RpcException>(() => control.DeployModelAsync(new DeployModelRequest
        {
            Pipeline = "deploy-errors", Model = new ModelRef { Name = "no-such-model", Version = "9" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, missing.StatusCode);
        Assert.Contains("no-such-model", missing.Status.Detail);

        var promote = await Assert.ThrowsAsync<RpcException>(() => control.PromoteModelAsync(new PipelineRef { Name = "deploy-errors" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, promote.StatusCode);
        Assert.Contains("no candidate", promote.Status.Detail);

        var traffic = await Assert.ThrowsAsync<RpcException>(() => control.DeployModelAsync(new DeployModelRequest
        {
            Pipeline = "deploy-errors", Model = new ModelRef { Name = "model-e", Version = "1" }, CandidateTraffic = 1.5,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, traffic.StatusCode);
    }
}
