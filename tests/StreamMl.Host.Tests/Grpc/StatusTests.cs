using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;
using StreamMl.Connectors.Tests.Delivery;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Every bad request gets the status that says what is wrong (never UNKNOWN), client-given names are checked
/// and echoed only cut and escaped, and a NOT_FOUND lists the other pipelines only to administrators. Real gRPC
/// clients against a real host.</summary>
[Collection(HostCollection.Name)]
public sealed class StatusTests(HostFixture host)
{
    private async Task EnsurePipelineAsync(string name)
    {
        if (!host.Pipelines.TryGet(name, out _))
            await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name), Replace = true });
    }

    private static ScoreRequest OneRow(string pipeline, string device = "d1") => new()
    {
        Pipeline = pipeline,
        Rows = new RowSet
        {
            Columns = { "device", "temperature", "vibration", "pressure" },
            Rows = { new Row { Values = { new Value { Text = device }, new Value { Number = 70 }, new Value { Number = 1 }, new Value { Number = 100 } } } },
        },
    };

    private GrpcChannel BigChannel(string key)
    {
        var options = new GrpcChannelOptions
        {
            MaxSendMessageSize = 128 << 20,
            MaxReceiveMessageSize = 64 << 20,
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {key}");
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        };
        return GrpcChannel.ForAddress(host.Server.Address, options);
    }

    [Fact]
    public async Task A_40_MB_unary_request_is_answered()
    {
        await EnsurePipelineAsync("status-big");
        using var channel = BigChannel(HostFixture.ScoreKey);
        var client = new DataPlane.DataPlaneClient(channel);
        var request = OneRow("status-big", new string('d', 40_000_000));
        Assert.InRange(request.CalculateSize(), 40_000_000, 41_000_000);
        // Before: UNKNOWN, since Kestrel refused request bodies over 30 MB below the documented 64 MiB.
        var response = await client.ScoreAsync(request);
        Assert.Single(response.Scores);
        Assert.False(response.Scores[0].Rejected);

        // A message over the limit is refused with RESOURCE_EXHAUSTED naming the limit: LimitsTests, with a small limit.
        // At 64 MiB the client is still sending when the host answers, and under load it sometimes reports the reset
        // stream (INTERNAL) instead of the host's status.
    }

    public static TheoryData<string, string, string, string> MalformedCalls() => new()
    {
        { "streamml.v1.DataPlane", "Score", "ScoreRequest", HostFixture.ScoreKey },
        { "streamml.v1.Control", "CreatePipeline", "CreatePipelineRequest", HostFixture.AdminKey },
        { "streamml.v1.Query", "ListDeadLetters", "DeadLettersRequest", HostFixture.ReadKey },
    };

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task Bytes_that_are_not_the_request_message_are_invalid_argument(string service, string method, string message, string key)
    {
        await EnsurePipelineAsync("status-malformed");
        var raw = new Method<byte[], byte[]>(MethodType.Unary, service, method, Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        // Field 1, length-delimited, says 100 bytes follow; 3 do.
        byte[] truncated = [0x0A, 100, 1, 2, 3];
        var call = host.Channel(key).CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(), truncated);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        // Before: UNKNOWN ("Exception was thrown by handler."): grpc-dotnet decodes the request before any interceptor.
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"/{service}/{method}: the request is not a valid {message} protobuf message", ex.Status.Detail);
        Assert.Single((await host.DataPlane().ScoreAsync(OneRow("status-malformed"))).Scores);
    }

    [Fact]
    public async Task A_10000_character_name_is_invalid_argument_with_the_name_cut()
    {
        var name = new string('n', 10_000);
        // Before: RESOURCE_EXHAUSTED on the client, the NOT_FOUND message echoing the whole name was too big a trailer.
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().GetStatusAsync(new PipelineRef { Name = name }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"'{new string('n', SafeText.MaxEcho)}… (10,000 characters in all)' (10,000 characters) is not a pipeline name", ex.Status.Detail);
        Assert.True(ex.Status.Detail.Length < 400, $"{ex.Status.Detail.Length} characters");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public async Task Dot_and_dot_dot_are_not_pipeline_names(string name)
    {
        var spec = TestSpecs.Sensors("placeholder").Replace("name: placeholder", $"name: \"{name}\"");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec }).ResponseAsync);
        // Before: the pipeline was created under the name '.' or '..'.
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"line 1, column 7: name '{name}' is not a pipeline name", ex.Status.Detail);
        Assert.False(host.Pipelines.TryGet(name, out _));
    }

    [Fact]
    public async Task A_page_token_near_the_int32_limit_ends_the_listing_instead_of_wrapping_negative()
    {
        await EnsurePipelineAsync("status-pages");
        var page = await host.Query().ListDeadLettersAsync(new DeadLettersRequest { Pipeline = "status-pages", PageToken = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        // Before: next_page_token was "-2147483599" (2147483647 + 50 in int32), which the next call refused.
        Assert.Empty(page.Letters);
        Assert.Equal("", page.NextPageToken);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.1, "-0.1")]
    public async Task A_traffic_split_outside_0_to_1_is_invalid_argument_in_the_field_s_words(double share, string shown)
    {
        await EnsurePipelineAsync("status-split");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Control().SetTrafficSplitAsync(new TrafficSplitRequest { Pipeline = "status-split", CandidateTraffic = share }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        // Before: .NET's ArgumentOutOfRangeException text ("... (Parameter 'share') Actual value was NaN.").
        Assert.Equal($"candidate_traffic must be between 0 and 1, got {shown}", ex.Status.Detail);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("score")]
    public async Task NOT_FOUND_lists_the_pipelines_only_to_administrators(string role)
    {
        await EnsurePipelineAsync("status-private-name");
        var ex = await Assert.ThrowsAsync<RpcException>(() => role == "read"
            ? host.Query().GetMetricsAsync(new MetricsRequest { Pipeline = "no-such-pipeline" }).ResponseAsync
            : host.DataPlane().ScoreAsync(OneRow("no-such-pipeline")).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        // Before: "there is no pipeline 'no-such-pipeline'; pipelines: ..., status-private-name, ...".
        Assert.Equal("there is no pipeline 'no-such-pipeline'", ex.Status.Detail);

        var admin = await Assert.ThrowsAsync<RpcException>(() => host.Control().GetStatusAsync(new PipelineRef { Name = "no-such-pipeline" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, admin.StatusCode);
        Assert.Contains("status-private-name", admin.Status.Detail);
    }

    [Fact]
    public async Task A_1_MB_name_with_NUL_bytes_is_logged_cut_and_escaped()
    {
        var logs = new LogCapture();
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 },
            logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
        using var channel = GrpcChannel.ForAddress(server.Address);
        var name = "evil\0name\n" + new string('x', 1_000_000);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new DataPlane.DataPlaneClient(channel).ScoreAsync(OneRow(name)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("'evil\\u0000name\\nxxx", ex.Status.Detail);

        var line = Assert.Single(logs.Lines, l => l.Contains("/streamml.v1.DataPlane/Score answered InvalidArgument", StringComparison.Ordinal));
        // Before: the warning held the whole megabyte, with the NUL byte and the new line raw.
        Assert.True(line.Length < SafeText.MaxLog + 200, $"the log line has {line.Length:N0} characters");
        Assert.DoesNotContain('\0', line);
        Assert.DoesNotContain('\n', line.TrimEnd());
        Assert.Contains("evil\\u0000name\\nxxx", line);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}
