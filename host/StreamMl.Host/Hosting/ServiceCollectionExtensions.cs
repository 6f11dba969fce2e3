using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMl.Host.Auth;
using StreamMl.Host.Grpc;
using StreamMl.Host.Metrics;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Hosting;

/// <summary>Registers StreamMl in a Microsoft.Extensions.Hosting application.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Adds the pipeline manager, the model catalog, API key checks, the gRPC services, health checks and
    /// metrics, and a hosted service that creates and starts <see cref="StreamMlOptions.PipelineSpecs"/> at startup.
    /// Use <see cref="StreamMlRuntime"/> from DI to create pipelines and score in process.</summary>
    public static StreamMlBuilder AddStreamMl(this IServiceCollection services, Action<StreamMlOptions>? configure = null)
    {
        // Configuration section "StreamMl" first, then code: code wins.
        var options = services.AddOptions<StreamMlOptions>().BindConfiguration("StreamMl");
        if (configure is not null) options.Configure(configure);
        services.TryAddSingleton(sp =>
        {
            var store = ApiKeyStore.FromOptions(sp.GetRequiredService<IOptions<StreamMlOptions>>().Value);
            if (store.Enabled) Log.AuthEnabled(sp.GetRequiredService<ILogger<ApiKeyStore>>(), store.Count);
            return store;
        });
        services.TryAddSingleton(sp =>
        {
            var catalog = new ModelCatalog();
            RegistryModels.Attach(catalog, sp.GetRequiredService<IOptions<StreamMlOptions>>().Value.RegistryPath);
            return catalog;
        });
        services.TryAddSingleton(sp =>
        {
            var registry = ComponentRegistry.CreateDefault();
            // Connectors created from specs log through the application's logging (secrets redacted by the connectors).
            registry.ConnectorLoggers = sp.GetRequiredService<ILoggerFactory>();
            return registry;
        });
        services.TryAddSingleton(sp => new PipelineManager(
            sp.GetRequiredService<ComponentRegistry>(),
            sp.GetRequiredService<ModelCatalog>(),
            sp.GetRequiredService<ILogger<PipelineManager>>(),
            sp.GetRequiredService<IOptions<StreamMlOptions>>().Value.MaxScoreRows,
            MemoryBudget.Resolve(sp.GetRequiredService<IOptions<StreamMlOptions>>().Value.MemoryBudget)));
        services.TryAddSingleton<PrometheusExporter>();
        services.TryAddSingleton<Grpc.Inference.InferenceModels>();
        services.TryAddSingleton(sp => new StreamMlRuntime(sp.GetRequiredService<PipelineManager>()));
        services.TryAddSingleton<HostReadiness>();
        services.AddHostedService<StreamMlHostedService>();
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<AuthInterceptor>();
            o.Interceptors.Add<StreamLimitInterceptor>();
            o.Interceptors.Add<ErrorInterceptor>();
        });
        // Arrow IPC batches of 4,096 rows of a few dozen columns run to megabytes: 64 MiB unless configured.
        services.AddOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<StreamMlOptions>>((grpc, streamMl) =>
        {
            grpc.MaxReceiveMessageSize = streamMl.Value.MaxReceiveMessageBytes;
            grpc.MaxSendMessageSize = streamMl.Value.MaxSendMessageBytes;
        });
        services.TryAddSingleton<StreamLimitInterceptor>();
        // Registered, the interceptors are resolved once; grpc-dotnet otherwise builds each one anew for every call
        // (ActivatorUtilities and a logger lookup per interceptor per call, in every perf profile of Score at 1,000/s).
        services.TryAddSingleton<AuthInterceptor>();
        services.TryAddSingleton<ErrorInterceptor>();
        services.AddGrpcReflection();
        return new StreamMlBuilder(services);
    }
}

/// <summary>Returned by <see cref="ServiceCollectionExtensions.AddStreamMl"/> for further configuration.</summary>
public sealed class StreamMlBuilder(IServiceCollection services)
{
    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>Creates and starts the pipeline in <paramref name="specPath"/> when the host starts.</summary>
    public StreamMlBuilder AddPipelineSpec(string specPath)
    {
        Services.Configure<StreamMlOptions>(o => o.PipelineSpecs.Add(specPath));
        return this;
    }

    /// <summary>Adds an API key with a role (hashed when loaded).</summary>
    public StreamMlBuilder AddApiKey(string key, ApiRole role, string name = "key")
    {
        Services.Configure<StreamMlOptions>(o => o.ApiKeys.Add(new ApiKeyOptions { Key = key, Role = role, Name = name }));
        return this;
    }
}

/// <summary>Creates and starts the configured pipelines at startup and stops every pipeline (with a drain) at shutdown.</summary>
/// <remarks>Taking the <see cref="ApiKeyStore"/> builds it at startup: a key that cannot be used stops the host from
/// starting instead of failing every call later with UNKNOWN.</remarks>
internal sealed class StreamMlHostedService(PipelineManager pipelines, ApiKeyStore keys, IOptions<StreamMlOptions> options,
    ILogger<StreamMlHostedService> logger, HostReadiness readiness) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = keys.Enabled;
        pipelines.Created += p => p.Runtime.Events.AlertRaised += a => Log.DriftAlert(logger, a.Pipeline, AlertRouting.Describe(a));
        foreach (var path in options.Value.PipelineSpecs)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new Engine.StreamMlException($"pipeline spec '{full}' does not exist");
            var text = await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false);
            await pipelines.CreateAsync(text, start: true, replace: false, Path.GetDirectoryName(full), cancellationToken).ConfigureAwait(false);
        }
        readiness.MarkReady();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        readiness.MarkStopping();
        await pipelines.DisposeAsync().ConfigureAwait(false);
    }
}
