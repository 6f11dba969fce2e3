using System.Text.Json.Serialization;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Registry;

/// <summary>A rollout recorded in the registry (<c>MODEL/rollouts/ID/rollout.json</c>), which every replica serving the
/// model follows; the transitions and the replicas' observations live beside it (<see cref="FolderRolloutLedger"/>).</summary>
/// <param name="Id">Folder name: start time (UTC, sortable) and candidate version, e.g. 20261203T154800123Z-v2.</param>
/// <param name="Model">Model name.</param>
/// <param name="Champion">The production version it is judged against.</param>
/// <param name="Candidate">The version rolled out.</param>
/// <param name="Options">Steps and guardrails.</param>
/// <param name="StartedBy">Who started it: a replica's name, "cli" or "spec".</param>
internal sealed record SharedRollout(string Id, string Model, int Champion, int Candidate, RolloutOptions Options, string StartedBy)
{
    /// <summary>The rollout's folder (set when read from or written to a registry).</summary>
    [JsonIgnore]
    public string Folder { get; init; } = "";

    /// <summary>The transitions so far (read from the folder each time).</summary>
    public IReadOnlyList<RolloutTransition> Transitions() => FolderRolloutLedger.ReadTransitions(Folder);

    /// <summary>True until a promote, roll back or cancel is recorded.</summary>
    public bool IsActive() => Transitions() is not { Count: > 0 } t || !t[^1].IsFinal;
}
