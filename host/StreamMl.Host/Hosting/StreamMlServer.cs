using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using StreamMl.Engine;
using StreamMl.Host.Auth;
using StreamMl.Host.Grpc;
using StreamMl.Host.Grpc.Inference;
using StreamMl.Host.Metrics;

namespace StreamMl.Host.Hosting;

/// <summary>The gRPC host: Kestrel with the Control, Query and DataPlane services, health checks, reflection and the
/// Prometheus endpoint. Listens on 127.0.0.1 unless told otherwise, and refuses any other address without API keys.</summary>
public sealed class StreamMlServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StreamMlServer(WebApplication app, string address, string? metricsAddress)
    {
        _app = app;
        Address = address;
        MetricsAddress = metricsAddress;
    }

    /// <summary>The gRPC address, like <c>http://127.0.0.1:50051</c>.</summary>
    public string Address { get; }

    /// <summary>The Prometheus endpoint's base address, or null when it is off.</summary>
    public string? MetricsAddress { get; }

    /// <summary>The Open Inference Protocol's HTTP/1.1 and HTTP/2 address (<see cref="StreamMlOptions.HttpPort"/>), or
    /// null when it is off. The <c>/v2</c> routes also answer on the gRPC port (HTTP/2 only).</summary>
    public string? HttpAddress { get; private init; }

    /// <summary>The host's services (for <see cref="StreamMlRuntime"/>).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts a host.</summary>
    public static async Task<StreamMlServer> StartAsync(StreamMlOptions options, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is null) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        else logging(builder.Logging);
        builder.Services.AddStreamMl(o => Copy(options, o));

        var ip = ParseAddress(options.Address);
        CheckLimits(options);
        // A budget that cannot be read stops the start, like a bad key.
        _ = MemoryBudget.Resolve(options.MemoryBudget);
        // Every key is checked before anything listens: an unusable one (empty, bad hash) refuses the start.
        var keys = ApiKeyStore.FromOptions(options).Count;
        if (!IPAddress.IsLoopback(ip) && keys == 0)
            throw new StreamMlException(
                $"refusing to listen on {options.Address} without authentication: anyone on the network could deploy models and read data. " +
                "Configure API keys (StreamMl:ApiKeys in configuration, --api-key-file, --api-key, or STREAMML_API_KEYS=admin:KEY) or listen on 127.0.0.1.");
        if (options.InlineSocketScheduling) builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        // Read the socket straight into a buffer instead of a zero-byte read first: Kestrel reads 4 KB at a time, so an
        // Ingest stream of 820 KB messages made two receive calls per 4 KB (harness S7: 1.87 M → 0.97 M recvfrom calls
        // per run). The cost is a 4 KB buffer held by each idle connection.
        builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Streaming calls lift this limit (grpc-dotnet). A unary body is refused by grpc-dotnet from its 5-byte
            // length prefix, before it is buffered; Kestrel's cap at twice the message limit lets the host read the
            // rest of a refused message so the client gets the RESOURCE_EXHAUSTED answer (Grpc/LimitMessages.cs), not a
            // reset stream (LimitsTests.A_message_over_the_receive_limit_...).
            kestrel.Limits.MaxRequestBodySize = 2L * options.MaxReceiveMessageBytes + 10;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            if (options.KeepAlivePingDelay is { } delay) kestrel.Limits.Http2.KeepAlivePingDelay = delay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            kestrel.Listen(ip, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.CertificatePath is { } path) listen.UseHttps(path, options.CertificatePassword);
            });
            if (options.MetricsPort >= 0) kestrel.Listen(ip, options.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
            if (options.HttpPort >= 0)
                kestrel.Listen(ip, options.HttpPort, listen =>
                {
                    // HTTP/2 needs TLS to be negotiated next to HTTP/1.1; plain HTTP/2 clients use the gRPC port.
                    listen.Protocols = options.CertificatePath is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                    if (options.CertificatePath is { } path) listen.UseHttps(path, options.CertificatePassword);
                });
        });

        var app = builder.Build();
        app.UseMiddleware<LimitMessages>();
        app.MapGrpcService<ControlService>();
        app.MapGrpcService<QueryService>();
        app.MapGrpcService<DataPlaneService>();
        app.MapGrpcService<RecommendationsService>();
        app.MapGrpcService<HealthService>(); // per pipeline and per model readiness (Grpc/HealthService.cs)
        app.MapGrpcService<Grpc.Inference.InferenceService>(); // Open Inference Protocol (Grpc/Inference)
        app.MapOpenInference(); // and its HTTP/JSON form under /v2, on every port (HttpPort for HTTP/1.1 clients)
        Reporting.ReportHttp.MapMonitoringReport(app); // GET /report/{pipeline}: the monitoring report page (Reporting/)
        if (options.EnableReflection) app.MapGrpcReflectionService();
        if (options.MetricsPort >= 0) app.MapMetrics("/metrics", app.Services.GetRequiredService<PrometheusExporter>().Registry);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        // Kestrel reports the addresses in the order the endpoints were configured: gRPC first, then metrics.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        var server = new StreamMlServer(app, addresses[0], options.MetricsPort >= 0 ? addresses[1] : null)
        {
            HttpAddress = options.HttpPort >= 0 ? addresses[options.MetricsPort >= 0 ? 2 : 1] : null,
        };
        Log.Listening(app.Services.GetRequiredService<ILogger<StreamMlServer>>(), server.Address,
            keys > 0 ? $"on, {keys} key(s)" : "off (loopback only)");
        return server;
    }

    /// <summary>Waits until the host is asked to stop (Ctrl+C or SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops every pipeline with a drain, then the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Refuses limits Kestrel or the stream guard cannot work with, naming the setting.</summary>
    internal static void CheckLimits(StreamMlOptions options)
    {
        if (options.MaxStreamsPerConnection < 2)
            throw new StreamMlException($"--max-streams-per-connection is {options.MaxStreamsPerConnection}; it must be at least 2 (one stream is kept for unary calls)");
        if (options.MaxReceiveMessageBytes < 1024)
            throw new StreamMlException($"--max-receive-message-size is {options.MaxReceiveMessageBytes} bytes; it must be at least 1024");
        if (options.MaxSendMessageBytes < 1024)
            throw new StreamMlException($"--max-send-message-size is {options.MaxSendMessageBytes} bytes; it must be at least 1024");
        if (options.KeepAlivePingDelay is { } delay && delay <= TimeSpan.Zero)
            throw new StreamMlException($"--keepalive-ping-delay is {delay.TotalSeconds} s; it must be above 0 (leave it out to turn pings off)");
        if (options.KeepAlivePingTimeout <= TimeSpan.Zero)
            throw new StreamMlException($"--keepalive-ping-timeout is {options.KeepAlivePingTimeout.TotalSeconds} s; it must be above 0");
    }

    internal static IPAddress ParseAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.TryParse(address, out var ip) ? ip : throw new StreamMlException($"'{address}' is not an IP address; use 127.0.0.1, 0.0.0.0 or a local interface's address"),
    };

    private static void Copy(StreamMlOptions from, StreamMlOptions to)
    {
        to.Address = from.Address;
        to.Port = from.Port;
        to.MetricsPort = from.MetricsPort;
        to.HttpPort = from.HttpPort;
        to.CertificatePath = from.CertificatePath;
        to.CertificatePassword = from.CertificatePassword;
        to.MaxScoreRows = from.MaxScoreRows;
        to.EnableReflection = from.EnableReflection;
        to.RegistryPath = from.RegistryPath;
        to.InlineSocketScheduling = from.InlineSocketScheduling;
        to.ApiKeyFile = from.ApiKeyFile;
        to.MemoryBudget = from.MemoryBudget;
        to.MaxReceiveMessageBytes = from.MaxReceiveMessageBytes;
        to.MaxSendMessageBytes = from.MaxSendMessageBytes;
        to.MaxStreamsPerConnection = from.MaxStreamsPerConnection;
        to.KeepAlivePingDelay = from.KeepAlivePingDelay;
        to.KeepAlivePingTimeout = from.KeepAlivePingTimeout;
        to.ApiKeys.AddRange(from.ApiKeys);
        to.PipelineSpecs.AddRange(from.PipelineSpecs);
    }
}
