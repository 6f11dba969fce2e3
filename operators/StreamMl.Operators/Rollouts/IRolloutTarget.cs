namespace StreamMl.Operators.Rollouts;

/// <summary>What a rollout drives: routes traffic for every transition (shadow, a canary share, all to the candidate
/// on promotion, all back to the champion on roll back or cancel) and records it wherever the owner keeps history.</summary>
public interface IRolloutTarget
{
    /// <summary>Applies <paramref name="transition"/>; called once per transition, in order, outside the rollout's lock.</summary>
    void Apply(RolloutTransition transition);
}
