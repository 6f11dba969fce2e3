namespace StreamMl.Operators.Rollouts;

/// <summary>Every guardrail's verdict on one evaluation of a rollout step.</summary>
public sealed record GuardrailReport(IReadOnlyList<GuardrailCheck> Checks)
{
    /// <summary>True when no check failed.</summary>
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>The failed checks' messages, joined; empty when all passed.</summary>
    public string FailureReason => string.Join("; ", Checks.Where(c => !c.Passed).Select(c => c.Message));
}
