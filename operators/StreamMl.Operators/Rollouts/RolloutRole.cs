namespace StreamMl.Operators.Rollouts;

/// <summary>Which model an observation belongs to.</summary>
public enum RolloutRole
{
    /// <summary>The model serving before the rollout.</summary>
    Champion,
    /// <summary>The model being rolled out.</summary>
    Candidate,
}
