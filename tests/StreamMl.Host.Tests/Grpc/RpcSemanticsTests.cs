using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>RPCs that used to answer OK while doing something other than asked (issue 12 item 15).</summary>
[Collection(HostCollection.Name)]
public sealed class RpcSemanticsTests(HostFixture host)
{
    private static string NoModel(string name) => $$"""
        name: {{name}}
        options: { batch_capacity: 256, ring_size: 4 }
        source:
          kind: grpc
          columns: { device: string, temperature: float32, vibration: float32, pressure: float32, fault: bool }
        sinks:
          - kind: memory
            keep_rows: 3
        """;

    private async Task CreateAsync(string spec) =>
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec, Start = true, Replace = true });

    /// <summary>Before: DeployModel answered OK with the model as primary, and no row was ever scored.</summary>
    [Fact]
    public async Task Deploying_to_a_pipeline_without_a_model_stage_is_a_failed_precondition()
    {
        await CreateAsync(TestSpecs.Sensors("sem-with-model", model: "linear-sem")); // registers linear-sem@1
        await CreateAsync(NoModel("sem-no-model"));
        var control = host.Control();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await control.DeployModelAsync(new DeployModelRequest
        {
            Pipeline = "sem-no-model", Model = new ModelRef { Name = "linear-sem", Version = "1" },
        }));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("DeployModel: pipeline 'sem-no-model' has no model stage, so a deployed model would score nothing; add a 'model' " +
            "section to its spec (e.g. model: { name: <model>, version: \"1\" }) and create it again with replace", ex.Status.Detail);

        ex = await Assert.ThrowsAsync<RpcException>(async () => await control.SetTrafficSplitAsync(new TrafficSplitRequest { Pipeline = "sem-no-model", CandidateTraffic = 0.5 }));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.StartsWith("SetTrafficSplit: pipeline 'sem-no-model' has no model stage", ex.Status.Detail, StringComparison.Ordinal);

        // A pipeline with a model stage still takes the deployment.
        var deployment = await control.DeployModelAsync(new DeployModelRequest { Pipeline = "sem-with-model", Model = new ModelRef { Name = "linear-sem", Version = "1" } });
        Assert.Equal("linear-sem", deployment.Primary.Name);
    }

    /// <summary>Before: the second message's rows went to the first pipeline and the call answered OK with 2 messages.</summary>
    [Theory]
    [InlineData("sem-ingest-other")]
    [InlineData("no-such-pipeline")]
    public async Task An_Ingest_message_naming_another_pipeline_is_refused_naming_both(string second)
    {
        var first = "sem-ingest-" + second;
        await CreateAsync(NoModel(first));
        await CreateAsync(NoModel("sem-ingest-other"));
        var readings = TestSpecs.Readings(30, seed: 11);
        var call = host.DataPlane().Ingest();
        await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = first, Rows = TestSpecs.ToRowSet(readings[..20]) });
        try
        {
            await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = second, Rows = TestSpecs.ToRowSet(readings[20..]) });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may end the call before the client has finished writing; the status comes from the response.
        }
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal($"Ingest message 1: names pipeline '{second}', but this stream feeds pipeline '{first}' (named by its first message); " +
            $"one Ingest stream feeds one pipeline: open another stream for '{second}'. This message was not accepted; the 20 row(s) of the 1 earlier message(s) were",
            ex.Status.Detail);

        // Stopping drains every accepted row: exactly the first message's 20 reached the first pipeline.
        var stopped = await host.Control().StopPipelineAsync(new PipelineRef { Name = first });
        Assert.Equal("stopped", stopped.State);
        var status = await host.Control().GetStatusAsync(new PipelineRef { Name = first });
        Assert.Equal(20, status.Stages[0].RowsOut);
        Assert.Equal(20, status.Stages.Single(s => s.Name == "memory").RowsOut);
        var other = await host.Control().GetStatusAsync(new PipelineRef { Name = "sem-ingest-other" });
        Assert.Equal(0, other.Stages[0].RowsOut + other.LagRows);
    }

    /// <summary>Before: the subscription streamed rows with no columns.</summary>
    [Fact]
    public async Task Subscribe_with_unknown_columns_is_refused_naming_them_and_the_available_ones()
    {
        await CreateAsync(TestSpecs.Sensors("sem-subscribe", model: "linear-sub"));
        using var call = host.DataPlane(HostFixture.ReadKey).Subscribe(new SubscribeRequest
        {
            Pipeline = "sem-subscribe", Rows = true, Columns = { "temperature", "temprature", "scroe" },
        });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("Subscribe: pipeline 'sem-subscribe' has no column(s) 'temprature', 'scroe'; its rows have: device, temperature, vibration, " +
            "pressure, fault, score, model", ex.Status.Detail);
    }
}
