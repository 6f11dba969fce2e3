namespace StreamMl.Host.Registry;

/// <summary>Where an automatically retrained version came from: the trigger (which alert or schedule, and when), the
/// data window it was trained on and the hash of the training spec. Its parent version is the manifest's Parent.</summary>
public sealed record RetrainLineage
{
    /// <summary>What started the run, e.g. "drift: feature x1 psi 0.41 over 0.25" or "schedule: every 1.00:00:00".</summary>
    public string Trigger { get; init; } = "";

    /// <summary>When the trigger fired (UTC).</summary>
    public DateTimeOffset TriggeredUtc { get; init; }

    /// <summary>The rows trained on, e.g. "recent.csv rows 1-5000 + reference.csv".</summary>
    public string DataWindow { get; init; } = "";

    /// <summary>SHA-256 (hex) of the training spec as run.</summary>
    public string SpecSha256 { get; init; } = "";
}
