namespace StreamMl.Operators.Rollouts;

/// <summary>Where a rollout stands.</summary>
public enum RolloutPhase
{
    /// <summary>The candidate scores every row beside the champion and answers none.</summary>
    Shadow,
    /// <summary>The candidate answers a share of the rows.</summary>
    Canary,
    /// <summary>Every step passed: the candidate is the champion now.</summary>
    Promoted,
    /// <summary>A guardrail failed (or a step ran out of time): the champion answers everything again.</summary>
    RolledBack,
    /// <summary>Stopped by a user before it finished; the champion answers everything.</summary>
    Cancelled,
}
