namespace StreamMl.Operators.Rollouts;

/// <summary>One change of a rollout's state: the new phase, its step and candidate traffic share, why, and the guardrail
/// verdicts that decided it (null for the start and for a cancel).</summary>
/// <param name="At">When it happened (the rollout's clock).</param>
/// <param name="Phase">The phase entered.</param>
/// <param name="Step">Index of the step entered (of the step that failed, for a roll back; the step count for a
/// promotion).</param>
/// <param name="Weight">The candidate's traffic share from now on (0 in shadow and after a roll back, 1 when promoted).</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="Report">The guardrails evaluated, when they decided it.</param>
public sealed record RolloutTransition(DateTimeOffset At, RolloutPhase Phase, int Step, double Weight, string Reason, GuardrailReport? Report)
{
    /// <summary>Short name for logs and registry history: shadow, canary, promoted, rolled-back, cancelled.</summary>
    public string Action => Phase switch
    {
        RolloutPhase.Shadow => "shadow",
        RolloutPhase.Canary => "canary",
        RolloutPhase.Promoted => "promoted",
        RolloutPhase.RolledBack => "rolled-back",
        _ => "cancelled",
    };

    /// <summary>True for promoted, rolled back and cancelled.</summary>
    public bool IsFinal => Phase is RolloutPhase.Promoted or RolloutPhase.RolledBack or RolloutPhase.Cancelled;
}
