using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Registry;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Models;

/// <summary>Wires an operators <see cref="Operators.Rollouts.Rollout"/> to a pipeline's <see cref="ModelDeployments"/>:
/// each transition routes traffic (shadow, candidate share, promotion, roll back), and, for registry versions, is written
/// to the model's registry history as <c>rollout-&lt;action&gt;</c> (a promotion also promotes the version in the
/// registry). The model stage (VariantScoringOperator) feeds it scores, latencies and labelled outcomes; <see cref="RunAsync"/> ticks it.</summary>
internal sealed class ModelRollout : IRolloutTarget
{
    private readonly ModelDeployments _deployments;
    private readonly ILogger? _logger;
    private readonly ModelRegistry? _registry;
    private readonly int _version;
    private readonly CancellationTokenSource _ticks = new();

    public ModelRollout(string pipeline, ModelDeployments deployments, ModelEntry candidate, RolloutOptions options,
        TimeProvider? clock = null, ILogger? logger = null, SharedRollout? shared = null, string? replica = null)
    {
        Pipeline = pipeline;
        _deployments = deployments;
        _logger = logger;
        Champion = deployments.Current.Primary
            ?? throw new RolloutException($"pipeline '{pipeline}' has no primary model to roll a candidate out against; deploy one first");
        Candidate = candidate;
        if (ReferenceEquals(Champion, candidate) || Champion.Id == candidate.Id)
            throw new RolloutException($"{candidate.Id} is already the primary model of pipeline '{pipeline}'");
        if (candidate.Lineage.TryGetValue("registry", out var root)
            && int.TryParse(candidate.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            _registry = new ModelRegistry(root);
            _version = version;
            _registry.RequireNotRetired(candidate.Name, version, "rolled out");
        }
        Shared = shared;
        var ledger = shared is null || _registry is null ? null : RegistryRollouts.Ledger(_registry, shared, replica ?? RegistryRollouts.ReplicaName);
        Rollout = new Rollout(Champion.Id, Candidate.Id, options, this, clock, ledger);
    }

    /// <summary>Starts rolling <paramref name="candidate"/> out against the pipeline's primary model. When both are
    /// versions of one registry model, the rollout is recorded in the registry, so every replica serving that model
    /// follows it (<see cref="RolloutFollower"/>); otherwise it runs in this process alone. With
    /// <paramref name="joinExisting"/> (a spec's rollout section, which every replica carries) a recorded rollout of the
    /// same two versions is joined instead of refused, and null is returned when it already finished.</summary>
    public static ModelRollout? Begin(string pipeline, ModelDeployments deployments, ModelEntry candidate, RolloutOptions options,
        string startedBy, bool joinExisting = false, ILogger? logger = null)
    {
        // A spec's rollout whose candidate got promoted is the primary when the pipeline starts again: nothing to do.
        if (joinExisting && deployments.Current.Primary?.Id == candidate.Id) return null;
        if (deployments.Current.Primary is { } champion && champion.Name == candidate.Name
            && champion.Lineage.TryGetValue("registry", out var root) && candidate.Lineage.TryGetValue("registry", out var candidateRoot) && root == candidateRoot
            && int.TryParse(champion.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            && int.TryParse(candidate.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var to))
        {
            var shared = RegistryRollouts.Start(new ModelRegistry(root), candidate.Name, from, to, options, startedBy, joinExisting);
            if (shared is null) return null;
            return new ModelRollout(pipeline, deployments, candidate, shared.Options, logger: logger, shared: shared).Start();
        }
        return new ModelRollout(pipeline, deployments, candidate, options, logger: logger).Start();
    }

    /// <summary>The registry's record of the rollout when it is shared by the replicas, else null.</summary>
    public SharedRollout? Shared { get; }

    public string Pipeline { get; }

    public ModelEntry Champion { get; }

    public ModelEntry Candidate { get; }

    public Rollout Rollout { get; }

    /// <summary>Transitions so far per action, for Prometheus.</summary>
    public IReadOnlyList<RolloutTransition> History => Rollout.History;

    public void Apply(RolloutTransition transition)
    {
        var others = _deployments.Current.Shadows.Where(s => !ReferenceEquals(s, Candidate)).ToArray();
        switch (transition.Phase)
        {
            case RolloutPhase.Shadow:
                _deployments.ClearCandidate();
                _deployments.SetShadows([.. others, Candidate]);
                break;
            case RolloutPhase.Canary:
                _deployments.SetShadows(others);
                _deployments.Deploy(Candidate, transition.Weight);
                break;
            case RolloutPhase.Promoted:
                _deployments.SetShadows(others);
                _deployments.Deploy(Candidate, 1);
                break;
            default:
                _deployments.SetShadows(others);
                _deployments.ClearCandidate();
                break;
        }
        // A shared rollout's ledger records each transition once, in the replica that appended it.
        if (_registry is not null && Shared is null)
        {
            _registry.RecordEvent(Candidate.Name, "rollout-" + transition.Action, _version, transition.Reason, transition.At);
            if (transition.Phase == RolloutPhase.Promoted) _registry.Promote(Candidate.Name, _version, "rollout: " + transition.Reason);
        }
        if (_logger is not null) Hosting.Log.RolloutTransition(_logger, Pipeline, Candidate.Id, transition.Action, transition.Weight, transition.Reason);
        if (transition.IsFinal) _ticks.Cancel();
    }

    /// <summary>How often a started rollout judges its step.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    /// <summary>Makes this the deployment's rollout and ticks it every <see cref="TickInterval"/> on the thread pool
    /// until it finishes (a test that drives time itself calls <see cref="Operators.Rollouts.Rollout.Tick"/> instead).</summary>
    public ModelRollout Start(bool tick = true)
    {
        _deployments.Rollout = this;
        if (tick) _ = Task.Run(() => RunAsync(_ticks.Token));
        return this;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TickInterval);
        try
        {
            while (!Rollout.IsFinished && await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    Rollout.Tick();
                }
                catch (Exception e) when (e is Engine.StreamMlException or IOException && Shared is not null)
                {
                    // A replica that cannot read or write the shared folder for a moment must not cancel everyone's
                    // rollout: it tries again at the next tick, and the other replicas carry on.
                    if (_logger is not null) Hosting.Log.RolloutTransition(_logger, Pipeline, Candidate.Id, "tick-failed", Rollout.Current.Weight, e.Message);
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is Engine.StreamMlException or IOException)
        {
            // A registry that cannot be written (disk full, permissions) must not leave traffic half-moved.
            Rollout.Cancel($"rollout stopped: {e.Message}");
        }
    }

    public Protos.RolloutStatus ToProto()
    {
        var current = Rollout.Current;
        var status = new Protos.RolloutStatus
        {
            Pipeline = Pipeline,
            Champion = new Protos.ModelRef { Name = Champion.Name, Version = Champion.Version },
            Candidate = new Protos.ModelRef { Name = Candidate.Name, Version = Candidate.Version },
            Phase = current.Action,
            Step = current.Step,
            Weight = current.Weight,
            Reason = current.Reason,
        };
        foreach (var t in Rollout.History)
            status.Events.Add(new Protos.RolloutEvent
            {
                At = t.At.ToString("O", CultureInfo.InvariantCulture), Action = t.Action, Step = t.Step, Weight = t.Weight, Reason = t.Reason,
            });
        var report = current.IsFinal ? current.Report : Rollout.Peek();
        foreach (var c in report?.Checks ?? [])
            status.Checks.Add(new Protos.GuardrailCheck
            {
                Name = c.Name, Value = c.Value, Limit = c.Limit, Passed = c.Passed, Skipped = c.Skipped, Message = c.Message,
            });
        return status;
    }
}
