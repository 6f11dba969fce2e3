using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>The connection limits of <c>serve</c>: streams per connection (one kept for unary calls, so Score works
/// with the streaming slots full), message sizes, and how their errors name the limit and the setting.</summary>
public sealed class LimitsTests
{
    private static async Task<StreamMlServer> StartAsync(Action<StreamMlOptions> configure)
    {
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        configure(options);
        var server = await StreamMlServer.StartAsync(options);
        var control = new Control.ControlClient(GrpcChannel.ForAddress(server.Address));
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("limits"), Start = true });
        return server;
    }

    /// <summary>A channel on one HTTP/2 connection, as grpc-js and Python clients use (grpc-dotnet's default handler
    /// opens another connection when one is full).</summary>
    private static GrpcChannel OneConnection(StreamMlServer server) =>
        GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false } });

    /// <summary>Opens <paramref name="count"/> Subscribe streams on <paramref name="channel"/> (one HTTP/2 connection)
    /// and returns each one's first event, or its error.</summary>
    private static List<(AsyncServerStreamingCall<PipelineEvent> Call, Task<bool> First)> Subscribe(GrpcChannel channel, int count)
    {
        var client = new DataPlane.DataPlaneClient(channel);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var call = client.Subscribe(new SubscribeRequest { Pipeline = "limits", Rows = true });
            return (call, call.ResponseStream.MoveNext());
        })];
    }

    private static StreamMl.Host.Pipelines.EventHub Events(StreamMlServer server) =>
        ((StreamMl.Host.Pipelines.PipelineManager)server.Services.GetService(typeof(StreamMl.Host.Pipelines.PipelineManager))!).Get("limits").Runtime.Events;

    private static async Task IngestAsync(GrpcChannel channel)
    {
        using var ingest = new DataPlane.DataPlaneClient(channel).Ingest();
        await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "limits", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(5, seed: 71)) });
        await ingest.RequestStream.CompleteAsync();
        await ingest;
    }

    [Fact]
    public async Task Streams_beyond_the_limit_are_refused_naming_the_setting_and_Score_still_works_on_that_connection()
    {
        await using var server = await StartAsync(o => o.MaxStreamsPerConnection = 8);
        using var channel = OneConnection(server);
        var calls = Subscribe(channel, 12);

        // 8 streams per connection, one kept for unary calls: 7 subscriptions stay open, the other 5 are refused.
        await Eventually.TrueAsync(() => calls.Count(c => c.First.IsCompleted) >= 5, "5 refused subscriptions");
        var refused = calls.Where(c => c.First.IsCompleted).ToList();
        Assert.Equal(5, refused.Count);
        foreach (var (_, first) in refused)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => first);
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("the limit is 8 concurrent streams per connection (max-streams-per-connection)", ex.Status.Detail);
            Assert.Contains("--max-streams-per-connection", ex.Status.Detail);
            var info = ex.GetRpcStatus()!.GetDetail<ErrorInfo>()!;
            Assert.Equal(("TOO_MANY_STREAMS", "8", "max-streams-per-connection"), (info.Reason, info.Metadata["limit"], info.Metadata["setting"]));
        }

        // Score on the same connection answers at once instead of queueing behind the subscriptions.
        var readings = TestSpecs.Readings(3, seed: 72);
        var score = await new DataPlane.DataPlaneClient(channel).ScoreAsync(new ScoreRequest { Pipeline = "limits", Rows = TestSpecs.ToRowSet(readings) },
            deadline: DateTime.UtcNow.AddSeconds(10));
        TestSpecs.AssertClose(TestSpecs.Reference(readings[0].Temperature, readings[0].Vibration, readings[0].Pressure), score.Scores[0].Score);

        // The 7 open subscriptions are live: each receives the rows ingested on another connection.
        await Eventually.TrueAsync(() => Events(server).SubscriberCount >= 7, "7 registered subscriptions");
        using var other = GrpcChannel.ForAddress(server.Address);
        await IngestAsync(other);
        var open = calls.Except(refused).ToList();
        Assert.Equal(7, open.Count);
        foreach (var (call, first) in open)
        {
            Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(PipelineEvent.KindOneofCase.Rows, call.ResponseStream.Current.KindCase);
            call.Dispose();
        }
    }

    [Fact]
    public async Task With_the_limit_raised_every_stream_is_served_and_Score_works()
    {
        await using var server = await StartAsync(o => o.MaxStreamsPerConnection = 20);
        using var channel = OneConnection(server);
        var calls = Subscribe(channel, 12);

        var readings = TestSpecs.Readings(3, seed: 73);
        var score = await new DataPlane.DataPlaneClient(channel).ScoreAsync(new ScoreRequest { Pipeline = "limits", Rows = TestSpecs.ToRowSet(readings) },
            deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(3, score.Scores.Count);

        // Subscriptions register when their call starts; rows ingested after all 12 have registered reach each one.
        await Eventually.TrueAsync(() => Events(server).SubscriberCount >= 12, "12 registered subscriptions");
        using var other = GrpcChannel.ForAddress(server.Address);
        await IngestAsync(other);
        foreach (var (call, first) in calls)
        {
            Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(20)));
            call.Dispose();
        }
    }

    [Fact]
    public async Task A_message_over_the_receive_limit_is_resource_exhausted_naming_the_limit_and_the_setting()
    {
        await using var server = await StartAsync(o => o.MaxReceiveMessageBytes = 64 * 1024);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new DataPlane.DataPlaneClient(channel);
        var big = TestSpecs.ToRowSet(TestSpecs.Readings(2000, seed: 74));
        Assert.True(big.CalculateSize() > 64 * 1024);

        void AssertNamesTheLimit(RpcException ex)
        {
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("limit of 65536 bytes (max-receive-message-size)", ex.Status.Detail);
            Assert.Contains("--max-receive-message-size or STREAMML_MAX_RECEIVE_MESSAGE_SIZE", ex.Status.Detail);
            var info = ex.GetRpcStatus()!.GetDetail<ErrorInfo>()!;
            Assert.Equal(("MESSAGE_TOO_LARGE", "65536"), (info.Reason, info.Metadata["limit"]));
        }

        AssertNamesTheLimit(await Assert.ThrowsAsync<RpcException>(() => client.ScoreAsync(new ScoreRequest { Pipeline = "limits", Rows = big }).ResponseAsync));

        // On a stream: the small first message is acknowledged, the big second one ends the call with the same error.
        using var call = client.IngestAcked();
        await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = "limits", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(5, seed: 75)) });
        Assert.True(await call.ResponseStream.MoveNext());
        // The host may end the call before the client has finished writing the big message; that write then fails
        // on the client's side, and the call's status is what the host said.
        var write = call.RequestStream.WriteAsync(new IngestRequest { Rows = big });
        AssertNamesTheLimit(await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext()));
        try { await write; } catch (RpcException) { }

        // Within the limit, Score still answers.
        Assert.Equal(5, (await client.ScoreAsync(new ScoreRequest { Pipeline = "limits", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(5, seed: 76)) })).Scores.Count);
    }

    [Fact]
    public async Task Serve_refuses_unusable_limits_naming_the_option()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(["serve", "--port", "0", "--metrics-port", "-1", "--max-streams-per-connection", "1"], output, error);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--max-streams-per-connection is 1; it must be at least 2", error.ToString());
    }
}
