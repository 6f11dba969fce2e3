using Grpc.Core;
using Grpc.Health.V1;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace StreamMl.Host.Grpc;

/// <summary>The standard gRPC health service (grpc.health.v1.Health) with readiness per pipeline and per model, like
/// Triton's ModelReady. Service names:
/// <list type="bullet">
/// <item><c>""</c> and <c>streamml.v1.Control</c>, <c>.Query</c>, <c>.DataPlane</c>: SERVING while the server runs, once the
/// pipelines configured at startup run and until a shutdown begins (<see cref="Hosting.HostReadiness"/>).</item>
/// <item><c>pipeline/NAME</c>: SERVING while the pipeline runs; NOT_SERVING when created, stopping, stopped, completed or failed.</item>
/// <item><c>model/NAME</c> or <c>model/NAME@VERSION</c>: SERVING while that model (any version, or that version) is the
/// primary or a candidate with traffic of a running pipeline with a model stage; NOT_SERVING when the registry knows it
/// but no running pipeline scores with it.</item>
/// </list>
/// Anything else: Check answers NOT_FOUND and Watch sends SERVICE_UNKNOWN, as the gRPC health protocol says. The answer
/// never lists pipeline or model names: health needs no API key.</summary>
internal sealed class HealthService(PipelineManager pipelines, Hosting.HostReadiness readiness) : Health.HealthBase
{
    private const int MaxEchoedName = 100;
    private static readonly TimeSpan s_watchPoll = TimeSpan.FromSeconds(1);
    private static readonly HashSet<string> s_services = new(StringComparer.Ordinal)
    {
        "", Control.Descriptor.FullName, Query.Descriptor.FullName, DataPlane.Descriptor.FullName, Health.Descriptor.FullName,
    };

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        if (StatusOf(request.Service) is not { } status)
            throw new RpcException(new Status(StatusCode.NotFound,
                $"health: unknown service '{Shorten(request.Service)}'; ask for '', pipeline/<name>, model/<name> or model/<name>@<version>"));
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    /// <summary>Sends the status now and again whenever it changes (pipeline starts, stops, ends, deletions, model
    /// deployments), re-checking at least once a second.</summary>
    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        var token = context.CancellationToken;
        ServingStatus? sent = null;
        while (!token.IsCancellationRequested)
        {
            var changed = pipelines.Changed;
            var status = StatusOf(request.Service) ?? ServingStatus.ServiceUnknown;
            if (status != sent)
            {
                try
                {
                    await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                sent = status;
            }
            await Task.WhenAny(changed, Task.Delay(s_watchPoll, token)).ConfigureAwait(false);
        }
    }

    /// <summary>The status of a service name; null when the name means nothing here.</summary>
    internal ServingStatus? StatusOf(string service)
    {
        if (s_services.Contains(service)) return readiness.IsReady ? ServingStatus.Serving : ServingStatus.NotServing;
        if (service.StartsWith("pipeline/", StringComparison.Ordinal))
            return pipelines.TryGet(service["pipeline/".Length..], out var pipeline)
                ? pipeline.State == PipelineState.Running ? ServingStatus.Serving : ServingStatus.NotServing
                : null;
        if (service.StartsWith("model/", StringComparison.Ordinal))
        {
            var model = service["model/".Length..];
            if (model.Length == 0) return null;
            var versioned = model.Contains('@', StringComparison.Ordinal);
            bool Matches(Models.ModelEntry? entry) => entry is not null && (versioned ? entry.Id == model : entry.Name == model);
            var known = false;
            foreach (var pipeline in pipelines.All)
            {
                var deployment = pipeline.Runtime.Models.Current;
                var deployed = Matches(deployment.Primary) || (deployment.CandidateTraffic > 0 && Matches(deployment.Candidate));
                if (deployed && pipeline.HasModelStage && pipeline.State == PipelineState.Running) return ServingStatus.Serving;
                known |= deployed || deployment.Shadows.Any(Matches);
            }
            return known || pipelines.Catalog.All().Any(Matches) ? ServingStatus.NotServing : null;
        }
        return null;
    }

    private static string Shorten(string name) =>
        name.Length <= MaxEchoedName ? name.Replace('\0', '?') : string.Concat(name.AsSpan(0, MaxEchoedName).ToString().Replace('\0', '?'), "…");
}
