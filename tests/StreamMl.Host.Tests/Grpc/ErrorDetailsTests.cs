using Google.Rpc;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Every INVALID_ARGUMENT carries structured details in grpc-status-details-bin, read here the way any gRPC
/// client reads them (Grpc.StatusProto's <c>GetRpcStatus</c>): a google.rpc.ErrorInfo with a reason code and a
/// google.rpc.BadRequest whose field violations name the row and column, or the spec's line and column.</summary>
[Collection(HostCollection.Name)]
public sealed class ErrorDetailsTests(HostFixture host)
{
    internal static ErrorInfo Info(RpcException ex) =>
        (ex.GetRpcStatus() ?? throw new Xunit.Sdk.XunitException($"no status details: {ex.Status}")).GetDetail<ErrorInfo>()
        ?? throw new Xunit.Sdk.XunitException("no ErrorInfo");

    internal static IReadOnlyList<BadRequest.Types.FieldViolation> Violations(RpcException ex) =>
        ex.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations ?? throw new Xunit.Sdk.XunitException($"no BadRequest: {ex.Status}");

    private async Task<string> CreateAsync(string name)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name), Start = true, Replace = true });
        return name;
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_names_its_row_and_column()
    {
        var name = await CreateAsync("details-value");
        var rows = TestSpecs.ToRowSet(TestSpecs.Readings(5, seed: 51));
        rows.Rows[3].Values[2] = new Value { Text = "loud" }; // vibration is float32

        var ex = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = rows }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var info = Info(ex);
        Assert.Equal(("INVALID_VALUE", "streamml"), (info.Reason, info.Domain));
        Assert.Equal("3", info.Metadata["row"]);
        Assert.Equal("vibration", info.Metadata["column"]);
        var violation = Assert.Single(Violations(ex));
        Assert.Equal("rows[3].vibration", violation.Field);
        Assert.Contains("is a text but column 'vibration' is float32", violation.Description);
        Assert.Equal(ex.Status.Detail, ex.GetRpcStatus()!.Message);
    }

    [Fact]
    public async Task An_unknown_column_and_a_missing_required_one_are_column_violations()
    {
        var name = await CreateAsync("details-column");
        var unknown = TestSpecs.ToRowSet(TestSpecs.Readings(1, seed: 52));
        unknown.Columns[4] = "faulty";
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = unknown }).ResponseAsync);
        Assert.Equal("INVALID_COLUMN", Info(ex).Reason);
        Assert.Equal("columns.faulty", Assert.Single(Violations(ex)).Field);

        var missing = new RowSet { Columns = { "vibration" }, Rows = { new Row { Values = { new Value { Number = 1 } } } } };
        ex = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = missing }).ResponseAsync);
        Assert.Equal("columns.temperature", Assert.Single(Violations(ex)).Field);
    }

    [Fact]
    public async Task A_bad_Ingest_message_names_its_row_and_the_trailers_count_the_rows_accepted_before_it()
    {
        var name = await CreateAsync("details-ingest");
        using var call = host.DataPlane().Ingest();
        var good = TestSpecs.ToRowSet(TestSpecs.Readings(7, seed: 53));
        await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = good });
        await call.RequestStream.WriteAsync(new IngestRequest { Rows = good });
        var bad = TestSpecs.ToRowSet(TestSpecs.Readings(3, seed: 54));
        bad.Rows[1].Values[1] = new Value(); // temperature is required
        await call.RequestStream.WriteAsync(new IngestRequest { Rows = bad });
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        });

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("rows[1].temperature", Assert.Single(Violations(ex)).Field);
        Assert.Contains("Ingest message 2", Info(ex).Metadata["location"]);
        Assert.Equal("14", ex.Trailers.GetValue("streamml-rows-accepted"));
        Assert.Equal("2", ex.Trailers.GetValue("streamml-messages"));
    }

    [Fact]
    public async Task A_spec_with_errors_lists_each_as_a_violation_at_its_line_and_column()
    {
        var spec = TestSpecs.Sensors("details-spec").Replace("batch_capacity: 256", "batch_capacity: lots").Replace("keep_rows: 3", "keep_rows: 3\n    colour: red");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("INVALID_SPEC", Info(ex).Reason);
        var violations = Violations(ex);
        // Where the two mistakes are in the text, counted here (1-based line and column).
        var lines = spec.Split('\n');
        string At(string text)
        {
            var line = Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal));
            return $"spec:{line + 1}:{lines[line].IndexOf(text, StringComparison.Ordinal) + 1}";
        }
        Assert.Contains(violations, v => v.Field == At("lots"));
        Assert.Contains(violations, v => v.Field == At("colour") && v.Description.Contains("colour", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_fields_out_of_range_name_the_field()
    {
        var name = await CreateAsync("details-field");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().SetTrafficSplitAsync(new TrafficSplitRequest { Pipeline = name, CandidateTraffic = 2 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("INVALID_FIELD", Info(ex).Reason);
        Assert.Equal("candidate_traffic", Assert.Single(Violations(ex)).Field);

        ex = await Assert.ThrowsAsync<RpcException>(() => host.Query().ListDeadLettersAsync(new DeadLettersRequest { Pipeline = name, PageSize = 5000 }).ResponseAsync);
        Assert.Equal("page_size", Assert.Single(Violations(ex)).Field);

        ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = " " }).ResponseAsync);
        Assert.Equal("spec", Assert.Single(Violations(ex)).Field);
    }
}
