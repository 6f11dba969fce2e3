using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using StreamMl.Engine;
using StreamMl.Host.Auth;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>API keys and roles, health checks, reflection and the loopback rule.</summary>
[Collection(HostCollection.Name)]
public sealed class AuthTests(HostFixture host)
{
    private async Task EnsurePipelineAsync() =>
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("auth"), Replace = true });

    private static ScoreRequest Request() => new() { Pipeline = "auth", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(1, seed: 1)) };

    public static TheoryData<string, string?> EveryServiceWithoutAKey() => new()
    {
        { "Control.ListPipelines", null },
        { "Query.GetMetrics", null },
        { "DataPlane.Score", null },
        { "DataPlane.Subscribe", null },
        { "Control.ListPipelines", "not-a-configured-key" },
        { "DataPlane.Score", "not-a-configured-key" },
    };

    [Theory]
    [MemberData(nameof(EveryServiceWithoutAKey))]
    public async Task Calls_without_a_valid_key_are_unauthenticated(string rpc, string? key)
    {
        await EnsurePipelineAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call(rpc, key));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Contains(key is null ? "needs an API key" : "not valid", ex.Status.Detail);
    }

    public static TheoryData<string, string> WrongRoles() => new()
    {
        { "DataPlane.Score", HostFixture.ReadKey },
        { "DataPlane.Ingest", HostFixture.ReadKey },
        { "Control.ListPipelines", HostFixture.ReadKey },
        { "Control.ListPipelines", HostFixture.ScoreKey },
        { "Control.CreatePipeline", HostFixture.ScoreKey },
    };

    [Theory]
    [MemberData(nameof(WrongRoles))]
    public async Task Calls_with_a_key_of_the_wrong_role_are_denied(string rpc, string key)
    {
        await EnsurePipelineAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call(rpc, key));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains("role", ex.Status.Detail);
    }

    [Theory]
    [InlineData("Query.GetMetrics", HostFixture.ReadKey)]
    [InlineData("Query.GetMetrics", HostFixture.ScoreKey)]
    [InlineData("DataPlane.Score", HostFixture.ScoreKey)]
    [InlineData("DataPlane.Score", HostFixture.AdminKey)]
    [InlineData("Control.ListPipelines", HostFixture.AdminKey)]
    public async Task Calls_with_a_sufficient_role_succeed(string rpc, string key)
    {
        await EnsurePipelineAsync();
        await Call(rpc, key);
    }

    [Fact]
    public async Task The_x_api_key_header_works_like_a_bearer_token()
    {
        await EnsurePipelineAsync();
        var client = new DataPlane.DataPlaneClient(host.Channel(null));
        var response = await client.ScoreAsync(Request(), new Metadata { { "x-api-key", HostFixture.ScoreKey } });
        Assert.Single(response.Scores);
    }

    private async Task Call(string rpc, string? key)
    {
        switch (rpc)
        {
            case "Control.ListPipelines": await new Control.ControlClient(host.Channel(key)).ListPipelinesAsync(new ListPipelinesRequest()); break;
            case "Control.CreatePipeline":
                await new Control.ControlClient(host.Channel(key)).CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("auth-other") });
                break;
            case "Query.GetMetrics": await new Query.QueryClient(host.Channel(key)).GetMetricsAsync(new MetricsRequest { Pipeline = "auth" }); break;
            case "DataPlane.Score": await new DataPlane.DataPlaneClient(host.Channel(key)).ScoreAsync(Request()); break;
            case "DataPlane.Subscribe":
                {
                    using var call = new DataPlane.DataPlaneClient(host.Channel(key)).Subscribe(new SubscribeRequest { Pipeline = "auth" });
                    await call.ResponseStream.MoveNext();
                    break;
                }
            case "DataPlane.Ingest":
                {
                    using var call = new DataPlane.DataPlaneClient(host.Channel(key)).Ingest();
                    await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = "auth", Rows = Request().Rows });
                    await call.RequestStream.CompleteAsync();
                    await call;
                    break;
                }
            default: throw new ArgumentOutOfRangeException(nameof(rpc), rpc, null);
        }
    }

    [Fact]
    public async Task Health_checks_answer_without_a_key()
    {
        var health = new Health.HealthClient(host.Channel(null));
        var response = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_lists_the_StreamMl_services_to_a_reader()
    {
        var reflection = new ServerReflection.ServerReflectionClient(host.Channel(HostFixture.ReadKey));
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("streamml.v1.Control", services);
        Assert.Contains("streamml.v1.Query", services);
        Assert.Contains("streamml.v1.DataPlane", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task The_host_refuses_a_non_loopback_address_without_keys()
    {
        var saved = Environment.GetEnvironmentVariable("STREAMML_API_KEYS");
        Environment.SetEnvironmentVariable("STREAMML_API_KEYS", null);
        try
        {
            var ex = await Assert.ThrowsAsync<StreamMlException>(() => StreamMlServer.StartAsync(new StreamMlOptions { Address = "0.0.0.0", Port = 0, MetricsPort = -1 }));
            Assert.Contains("refusing to listen on 0.0.0.0 without authentication", ex.Message);
            Assert.Contains("API keys", ex.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("STREAMML_API_KEYS", saved);
        }
    }

    [Fact]
    public async Task With_keys_the_host_may_listen_on_every_interface()
    {
        var options = new StreamMlOptions { Address = "0.0.0.0", Port = 0, MetricsPort = -1 };
        options.ApiKeys.Add(new ApiKeyOptions { Key = "k", Role = ApiRole.Admin });
        await using var server = await StreamMlServer.StartAsync(options);
        Assert.StartsWith("http://0.0.0.0:", server.Address);
    }
}
