using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Auth;
using StreamMl.Host.Hosting;
using StreamMl.Host.Models;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>One real host (Kestrel on 127.0.0.1, ephemeral ports) with a key per role, shared by the gRPC tests.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    public const string AdminKey = "admin-key-for-tests";
    public const string ScoreKey = "score-key-for-tests";
    public const string ReadKey = "read-key-for-tests";

    private readonly List<GrpcChannel> _channels = [];

    public StreamMlServer Server { get; private set; } = null!;

    internal ModelCatalog Catalog => Server.Services.GetRequiredService<ModelCatalog>();

    internal StreamMl.Host.Pipelines.PipelineManager Pipelines => Server.Services.GetRequiredService<StreamMl.Host.Pipelines.PipelineManager>();

    public async Task InitializeAsync()
    {
        var options = new StreamMlOptions { Port = 0, MetricsPort = 0, HttpPort = 0 };
        options.ApiKeys.Add(new ApiKeyOptions { Name = "admin", Key = AdminKey, Role = ApiRole.Admin });
        options.ApiKeys.Add(new ApiKeyOptions { Name = "score", Hash = Convert.ToHexString(ApiKeyStore.HashKey(ScoreKey)), Role = ApiRole.Score });
        options.ApiKeys.Add(new ApiKeyOptions { Name = "read", Key = ReadKey, Role = ApiRole.Read });
        Server = await StreamMlServer.StartAsync(options);
    }

    /// <summary>A channel that sends <paramref name="key"/> as a bearer token (or nothing when null).</summary>
    public GrpcChannel Channel(string? key)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 };
        if (key is not null)
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {key}");
                return Task.CompletedTask;
            }));
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }
        var channel = GrpcChannel.ForAddress(Server.Address, options);
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public Control.ControlClient Control(string? key = AdminKey) => new(Channel(key));

    public Query.QueryClient Query(string? key = ReadKey) => new(Channel(key));

    public DataPlane.DataPlaneClient DataPlane(string? key = ScoreKey) => new(Channel(key));

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "host";
}
