namespace StreamMl.Host.Hosting;

/// <summary>Whether the host takes traffic: ready once the configured pipelines (and the models they load) have been
/// created and started, not ready again from the moment a shutdown begins, so a load balancer or an orchestrator's
/// probe (<c>streamml health</c>, grpc.health.v1 service <c>""</c>) stops sending work before the drain.</summary>
public sealed class HostReadiness
{
    private volatile bool _ready;

    /// <summary>True between the end of startup and the start of shutdown.</summary>
    public bool IsReady => _ready;

    internal void MarkReady() => _ready = true;

    internal void MarkStopping() => _ready = false;
}
