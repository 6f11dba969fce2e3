using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Rollouts;

/// <summary>Routes a <see cref="ScoringOperator"/>'s traffic as a rollout moves: shadow → the candidate runs as a
/// shadow; canary → (champion, 1 − share), (candidate, share) variants; promoted → the candidate alone; rolled back or
/// cancelled → the champion alone. Each change takes effect between two batches. Calls <paramref name="then"/> after
/// each change (e.g. to record it in a registry).</summary>
public sealed class ScoringRolloutTarget(ScoringOperator scoring, OnnxModel champion, OnnxModel candidate, Action<RolloutTransition>? then = null)
    : IRolloutTarget
{
    /// <inheritdoc/>
    public void Apply(RolloutTransition transition)
    {
        switch (transition.Phase)
        {
            case RolloutPhase.Shadow:
                scoring.Deploy(champion);
                scoring.SetShadows(candidate);
                break;
            case RolloutPhase.Canary:
                scoring.SetShadows();
                scoring.SetVariants((champion, 1 - transition.Weight), (candidate, transition.Weight));
                break;
            case RolloutPhase.Promoted:
                scoring.SetShadows();
                scoring.Deploy(candidate);
                break;
            default:
                scoring.SetShadows();
                scoring.Deploy(champion);
                break;
        }
        then?.Invoke(transition);
    }
}
