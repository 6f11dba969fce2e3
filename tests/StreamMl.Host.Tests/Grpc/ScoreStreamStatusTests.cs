using Google.Rpc;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>ScoreStream answers each request with its own status, as Triton's streaming inference does: a bad request
/// gets a response carrying the code, message and details, and the requests after it are scored.</summary>
[Collection(HostCollection.Name)]
public sealed class ScoreStreamStatusTests(HostFixture host)
{
    [Fact]
    public async Task A_bad_request_gets_its_own_status_and_the_stream_goes_on()
    {
        const string name = "stream-status";
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name), Start = true, Replace = true });
        var good = TestSpecs.Readings(4, seed: 61);
        var badValue = TestSpecs.ToRowSet(TestSpecs.Readings(3, seed: 62));
        badValue.Rows[2].Values[3] = new Value { Flag = true }; // pressure is float32
        ScoreRequest[] requests =
        [
            new() { Pipeline = name, Rows = TestSpecs.ToRowSet(good), RequestId = "ok-1" },
            new() { Rows = badValue, RequestId = "bad-value" },
            new() { Pipeline = "no-such-pipeline", Rows = TestSpecs.ToRowSet(good), RequestId = "bad-pipeline" },
            new() { Pipeline = name, Rows = TestSpecs.ToRowSet(good), ModelVersion = "9", RequestId = "bad-version" },
            new() { Pipeline = name, Rows = TestSpecs.ToRowSet(good), RequestId = "ok-2" },
        ];

        using var call = host.DataPlane().ScoreStream();
        var responses = new List<ScoreResponse>();
        var reading = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync()) responses.Add(response);
        });
        foreach (var request in requests) await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        await reading.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(requests.Select(r => r.RequestId), responses.Select(r => r.RequestId));
        foreach (var ok in new[] { responses[0], responses[4] })
        {
            Assert.Null(ok.Status);
            Assert.Equal(good.Count, ok.Scores.Count);
            for (var i = 0; i < good.Count; i++)
                TestSpecs.AssertClose(TestSpecs.Reference(good[i].Temperature, good[i].Vibration, good[i].Pressure), ok.Scores[i].Score);
        }

        var value = responses[1];
        Assert.Empty(value.Scores);
        Assert.Equal((int)StatusCode.InvalidArgument, value.Status.Code);
        Assert.Contains("row 2 column 'pressure'", value.Status.Message);
        // RequestStatus has google.rpc.Status's fields and numbers: its bytes parse as one.
        var asRpcStatus = Google.Rpc.Status.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(value.Status));
        Assert.Equal("rows[2].pressure", Assert.Single(asRpcStatus.GetDetail<BadRequest>()!.FieldViolations).Field);
        Assert.Equal("INVALID_VALUE", asRpcStatus.GetDetail<ErrorInfo>()!.Reason);

        Assert.Equal((int)StatusCode.NotFound, responses[2].Status.Code);
        Assert.Contains("no-such-pipeline", responses[2].Status.Message);
        Assert.Equal((int)StatusCode.InvalidArgument, responses[3].Status.Code);
        Assert.Equal("model_version", Assert.Single(responses[3].Status.Details.Select(d => d.TryUnpack<BadRequest>(out var b) ? b : null).OfType<BadRequest>()).FieldViolations[0].Field);
    }
}
