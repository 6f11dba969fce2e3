using StreamMl.Host.Grpc;

namespace StreamMl.Host.Models;

/// <summary>Resolves a Score or DescribeModel <c>model_version</c> against a pipeline's deployment, and names the role
/// (variant) of a deployed version.</summary>
internal static class ModelSelector
{
    /// <summary>The variant names: the deployed primary, the A/B candidate, a shadow, the previous primary.</summary>
    public const string Primary = "primary", Candidate = "candidate", Shadow = "shadow", Previous = "previous";

    /// <summary>The pinned version for <paramref name="selector"/>: null for empty (route as deployed); the primary or
    /// candidate; or the deployed version with that version string (or <c>name@version</c>). Anything else is an
    /// INVALID_ARGUMENT on field <c>model_version</c> that lists what is deployed.</summary>
    public static ModelEntry? Resolve(ModelDeployments.Snapshot deployment, string selector, string pipeline)
    {
        if (selector.Length == 0) return null;
        var found = selector switch
        {
            Primary => deployment.Primary,
            Candidate => deployment.Candidate,
            _ => Deployed(deployment).Select(d => d.Entry).FirstOrDefault(e => e.Version == selector || e.Id == selector),
        };
        if (found is not null) return found;
        var deployed = Deployed(deployment).Select(d => $"{d.Entry.Id} ({d.Variant})").ToList();
        throw ErrorDetails.InvalidField("model_version",
            $"model_version {Hosting.SafeText.Quote(selector)} names no model deployed to pipeline '{pipeline}'; " +
            (deployed.Count == 0
                ? "none is deployed (deploy one with Control.DeployModel)"
                : $"deployed: {string.Join(", ", deployed)}; send primary, candidate, one of these versions, or nothing to route as deployed"));
    }

    /// <summary>Every deployed version with its role, primary first.</summary>
    public static IEnumerable<(ModelEntry Entry, string Variant)> Deployed(ModelDeployments.Snapshot deployment)
    {
        if (deployment.Primary is { } primary) yield return (primary, Primary);
        if (deployment.Candidate is { } candidate) yield return (candidate, Candidate);
        foreach (var shadow in deployment.Shadows) yield return (shadow, Shadow);
        if (deployment.Previous is { } previous) yield return (previous, Previous);
    }

    /// <summary>The role of <paramref name="entry"/> in <paramref name="deployment"/> ("" when it has none). Score
    /// asks this for every row it answers, so it looks at the roles in <see cref="Deployed"/>'s order without
    /// enumerating them (no enumerator is allocated).</summary>
    public static string VariantOf(ModelDeployments.Snapshot deployment, ModelEntry entry)
    {
        if (ReferenceEquals(deployment.Primary, entry)) return Primary;
        if (ReferenceEquals(deployment.Candidate, entry)) return Candidate;
        foreach (var shadow in deployment.Shadows)
            if (ReferenceEquals(shadow, entry)) return Shadow;
        return ReferenceEquals(deployment.Previous, entry) ? Previous : "";
    }

    /// <summary>The first deployed version (in <see cref="Deployed"/>'s order) whose <see cref="ModelEntry.Id"/> is
    /// <paramref name="id"/>, or null; allocates nothing (Score asks for every row).</summary>
    public static ModelEntry? FindById(ModelDeployments.Snapshot deployment, string id)
    {
        if (deployment.Primary is { } primary && primary.Id == id) return primary;
        if (deployment.Candidate is { } candidate && candidate.Id == id) return candidate;
        foreach (var shadow in deployment.Shadows)
            if (shadow.Id == id) return shadow;
        return deployment.Previous is { } previous && previous.Id == id ? previous : null;
    }
}
