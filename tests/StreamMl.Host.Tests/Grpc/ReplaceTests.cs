using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>CreatePipeline with <c>replace</c> checks the new spec fully (schema, memory budget) before it touches the
/// running pipeline: a refused replacement leaves that pipeline running, with its rows and counters.</summary>
[Collection(HostCollection.Name)]
public sealed class ReplaceTests(HostFixture host)
{
    private const string Name = "replace-kept";

    private async Task IngestAsync(int rows, int seed)
    {
        using var ingest = host.DataPlane().Ingest();
        await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = Name, Rows = TestSpecs.ToRowSet(TestSpecs.Readings(rows, seed)) });
        await ingest.RequestStream.CompleteAsync();
        Assert.Equal(rows, (await ingest).RowsAccepted);
    }

    private async Task<PipelineStatus> StatusAsync() => await host.Control().GetStatusAsync(new PipelineRef { Name = Name });

    private async Task WaitForRowsAsync(long rows)
    {
        PipelineStatus? last = null;
        await Eventually.TrueAsync(async () => (last = await StatusAsync()).Stages[0].RowsOut == rows,
            $"the pipeline to have read {rows} rows", seen: () => $"{last?.Stages[0].RowsOut} rows, state {last?.Info.State}");
    }

    private async Task<RpcException> ReplaceRefusedAsync(string spec)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().CreatePipelineAsync(
            new CreatePipelineRequest { Spec = spec, Start = true, Replace = true }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        return ex;
    }

    [Fact]
    public async Task A_refused_replacement_leaves_the_running_pipeline_running_with_its_rows()
    {
        var control = host.Control();
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(Name), Start = true, Replace = true });
        try
        {
            await IngestAsync(300, seed: 21);
            await WaitForRowsAsync(300);

            // A schema error that only binding finds: drift on a column the source does not have.
            var schema = await ReplaceRefusedAsync(TestSpecs.Sensors(Name).Replace("features: [temperature, vibration]", "features: [temperature, humidity]"));
            Assert.Contains("column 'humidity' is not in the schema", schema.Status.Detail);
            // Before: the old pipeline was deleted first, so this was NOT_FOUND ("there is no pipeline 'replace-kept'").
            var afterSchema = await StatusAsync();
            Assert.Equal("running", afterSchema.Info.State);
            Assert.Equal(300, afterSchema.Stages[0].RowsOut);

            await IngestAsync(200, seed: 22);
            await WaitForRowsAsync(500);

            // The ring of the report: refused by the memory budget.
            var memory = await ReplaceRefusedAsync(TestSpecs.Sensors(Name).Replace("batch_capacity: 256, ring_size: 4", "batch_capacity: 1048576, ring_size: 65536"));
            Assert.Contains("the pipeline's ring needs about ", memory.Status.Detail);
            var afterMemory = await StatusAsync();
            Assert.Equal("running", afterMemory.Info.State);
            Assert.Equal(500, afterMemory.Stages[0].RowsOut);
            Assert.Equal("linear-a", afterMemory.Model.Primary.Name);

            // A good replacement still replaces: a new pipeline with its own model and no rows yet.
            var replaced = await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(Name, model: "linear-b", other: true), Start = true, Replace = true });
            Assert.Equal("running", replaced.State);
            var afterReplace = await StatusAsync();
            Assert.Equal("linear-b", afterReplace.Model.Primary.Name);
            Assert.Equal(0, afterReplace.Stages[0].RowsOut);
            await IngestAsync(10, seed: 23);
            await WaitForRowsAsync(10);
        }
        finally
        {
            await control.DeletePipelineAsync(new PipelineRef { Name = Name });
        }
    }
}
