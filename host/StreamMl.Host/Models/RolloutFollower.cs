using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Registry;

namespace StreamMl.Host.Models;

/// <summary>Makes a pipeline follow the rollouts recorded in its model's registry (<see cref="RegistryRollouts"/>): once
/// a second it looks for the newest rollout of the primary model against the version it serves and, when it finds one
/// it does not follow yet, joins it as a <see cref="ModelRollout"/> on the shared ledger: it routes traffic as the
/// ledger's current step says, publishes its observations, and judges and appends steps like every other replica. A
/// rollout that finished before this follower started is left alone (a replica started later serves the registry's
/// production version anyway).</summary>
internal sealed class RolloutFollower : IDisposable
{
    /// <summary>How often the registry is looked at.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly string _pipeline;
    private readonly ModelDeployments _deployments;
    private readonly ModelCatalog _catalog;
    private readonly ILogger? _logger;
    private readonly string _replica;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly CancellationTokenSource _stop = new();
    private string? _seen;

    public RolloutFollower(string pipeline, ModelDeployments deployments, ModelCatalog catalog, ILogger? logger = null, string? replica = null)
    {
        _pipeline = pipeline;
        _deployments = deployments;
        _catalog = catalog;
        _logger = logger;
        _replica = replica ?? RegistryRollouts.ReplicaName;
    }

    /// <summary>Polls every <see cref="PollInterval"/> on the thread pool until disposed.</summary>
    public RolloutFollower Start()
    {
        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(PollInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        Poll(tick: true);
                    }
                    catch (Exception e) when (e is Engine.StreamMlException or IOException or UnauthorizedAccessException)
                    {
                        if (_logger is not null) Hosting.Log.RolloutTransition(_logger, _pipeline, "-", "follow-failed", 0, e.Message);
                    }
                }
            }
            catch (OperationCanceledException) { }
        });
        return this;
    }

    /// <summary>Joins the registry's newest rollout of the primary model when there is one to join; returns the rollout
    /// joined, or null. <paramref name="tick"/>: let the rollout tick itself (a test that drives time passes false).</summary>
    public ModelRollout? Poll(bool tick = true, TimeProvider? clock = null)
    {
        if (_deployments.Rollout is { Rollout.IsFinished: false }) return null;
        var primary = _deployments.Current.Primary;
        if (primary is null || !primary.Lineage.TryGetValue("registry", out var root)
            || !int.TryParse(primary.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var serving)) return null;
        var registry = new ModelRegistry(root);
        var latest = RegistryRollouts.Latest(registry, primary.Name);
        if (latest is null || latest.Id == _seen || latest.Champion != serving || _deployments.Rollout?.Shared?.Id == latest.Id) return null;
        _seen = latest.Id;
        var transitions = latest.Transitions();
        if (transitions.Count > 0 && transitions[^1].IsFinal && transitions[^1].At < _started) return null;
        var candidate = RegistryModels.RequireDeployable(_catalog.Require(primary.Name, latest.Candidate.ToString(CultureInfo.InvariantCulture)), "rolled out");
        return new ModelRollout(_pipeline, _deployments, candidate, latest.Options, clock, _logger, latest, _replica).Start(tick);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
