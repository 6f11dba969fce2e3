namespace StreamMl.Host.Registry;

/// <summary>Where a model version stands.</summary>
public enum ModelStage
{
    /// <summary>Registered, not serving.</summary>
    Candidate,
    /// <summary>The version that serves; at most one per model.</summary>
    Production,
    /// <summary>Served before and was replaced, or archived by hand.</summary>
    Archived,
    /// <summary>Retired (<c>models retire</c>): kept with its history, never deployed or promoted again.</summary>
    Retired,
}
