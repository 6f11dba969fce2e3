using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Bad specs and payloads are answered with INVALID_ARGUMENT and a message that says what and where, and
/// the server keeps serving afterwards.</summary>
[Collection(HostCollection.Name)]
public sealed class MalformedInputTests(HostFixture host)
{
    private async Task<RpcException> InvalidAsync(Func<Task> call)
    {
        if (!host.Pipelines.TryGet("malformed", out _))
            await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("malformed"), Replace = true });
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        // The server still answers a good call afterwards.
        var ok = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "malformed", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(1, 1)) });
        Assert.False(ok.Scores[0].Rejected);
        return ex;
    }

    [Fact]
    public async Task A_spec_with_errors_lists_each_with_its_line_and_column()
    {
        var spec = TestSpecs.Sensors("bad-spec").Replace("ring_size: 4", "ring_size: 6").Replace("kind: memory", "kind: no-such-sink");
        var ex = await InvalidAsync(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec }).ResponseAsync);
        var lines = spec.Split('\n');
        var ringLine = Array.FindIndex(lines, l => l.Contains("ring_size")) + 1;
        var sinkLine = Array.FindIndex(lines, l => l.Contains("no-such-sink")) + 1;
        Assert.Contains("2 error(s)", ex.Status.Detail);
        Assert.Contains($"line {ringLine}, column {lines[ringLine - 1].IndexOf("6 }", StringComparison.Ordinal) + 1}: 'options.ring_size' must be a power of two", ex.Status.Detail);
        Assert.Contains($"line {sinkLine}, column {lines[sinkLine - 1].IndexOf("no-such-sink", StringComparison.Ordinal) + 1}: unknown sink kind 'no-such-sink'", ex.Status.Detail);
    }

    [Fact]
    public async Task A_spec_that_is_not_YAML_says_where_it_breaks()
    {
        var ex = await InvalidAsync(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = "name: x\nsource: { kind: grpc\nsinks: []" }).ResponseAsync);
        Assert.Contains("not valid YAML or JSON", ex.Status.Detail);
        Assert.Contains("line 3", ex.Status.Detail);
    }

    [Fact]
    public async Task Score_with_an_unknown_column_names_it_and_the_inputs()
    {
        var rows = new RowSet { Columns = { "temprature" }, Rows = { new Row { Values = { new Value { Number = 1 } } } } };
        var ex = await InvalidAsync(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "malformed", Rows = rows }).ResponseAsync);
        Assert.Contains("column 'temprature' is not an input", ex.Status.Detail);
        Assert.Contains("temperature:float32", ex.Status.Detail);
    }

    [Fact]
    public async Task Score_with_a_value_of_the_wrong_type_names_the_row_and_column()
    {
        var rows = TestSpecs.ToRowSet(TestSpecs.Readings(3, 2));
        rows.Rows[2].Values[1] = new Value { Text = "hot" };
        var ex = await InvalidAsync(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "malformed", Rows = rows }).ResponseAsync);
        Assert.Contains("row 2 column 'temperature'", ex.Status.Detail);
        Assert.Contains("is a text but column 'temperature' is float32", ex.Status.Detail);
    }

    [Fact]
    public async Task Score_without_a_required_column_says_which()
    {
        var rows = new RowSet { Columns = { "vibration" }, Rows = { new Row { Values = { new Value { Number = 1 } } } } };
        var ex = await InvalidAsync(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "malformed", Rows = rows }).ResponseAsync);
        Assert.Contains("required column 'temperature' is missing", ex.Status.Detail);
    }

    [Fact]
    public async Task Arrow_bytes_that_are_not_Arrow_are_rejected()
    {
        var ex = await InvalidAsync(() => host.DataPlane().ScoreAsync(new ScoreRequest
        {
            Pipeline = "malformed", ArrowIpc = ByteString.CopyFrom([1, 2, 3, 4, 5, 6, 7, 8, 9]),
        }).ResponseAsync);
        Assert.Contains("not a readable Arrow IPC stream", ex.Status.Detail);
    }

    [Fact]
    public async Task A_Score_request_without_payload_is_rejected()
    {
        var ex = await InvalidAsync(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "malformed" }).ResponseAsync);
        Assert.Contains("no payload", ex.Status.Detail);
    }

    [Fact]
    public async Task Ingest_with_a_bad_message_fails_with_its_index_and_earlier_rows_stay_accepted()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("malformed-ingest"), Replace = true, Start = true });
        var bad = TestSpecs.ToRowSet(TestSpecs.Readings(2, 3));
        bad.Rows[1].Values[4] = new Value { Number = 3 }; // fault is bool
        var ex = await InvalidAsync(async () =>
        {
            using var call = host.DataPlane().Ingest();
            await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = "malformed-ingest", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(10, 4)) });
            await call.RequestStream.WriteAsync(new IngestRequest { Rows = bad });
            await call.RequestStream.CompleteAsync();
            await call;
        });
        Assert.Contains("Ingest message 1 row 1 column 'fault'", ex.Status.Detail);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        PipelineStatus status;
        do status = await host.Control().GetStatusAsync(new PipelineRef { Name = "malformed-ingest" });
        while (status.Stages[0].RowsOut < 10 && DateTime.UtcNow < deadline);
        Assert.Equal(10, status.Stages[0].RowsOut);
    }

    [Fact]
    public async Task Ingest_into_a_pipeline_that_is_not_running_fails_with_a_precondition()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("not-started"), Replace = true });
        using var call = host.DataPlane().Ingest();
        await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = "not-started", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(1, 1)) });
        await call.RequestStream.CompleteAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("start it before ingesting", ex.Status.Detail);
    }
}
