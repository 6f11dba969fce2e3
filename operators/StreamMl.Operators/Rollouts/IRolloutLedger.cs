namespace StreamMl.Operators.Rollouts;

/// <summary>Where the replicas of one rollout share it: the transitions, appended by whichever replica decides first
/// (an append at an index that is taken fails, so each step has exactly one decision), and each replica's observations
/// of the current step, gathered by whichever replica evaluates. <see cref="FolderRolloutLedger"/> keeps it in files.</summary>
public interface IRolloutLedger
{
    /// <summary>Every transition appended so far, oldest first.</summary>
    IReadOnlyList<RolloutTransition> Read();

    /// <summary>Appends <paramref name="transition"/> as number <paramref name="index"/>; false when another replica
    /// appended that number first (then read again and follow it).</summary>
    bool TryAppend(int index, RolloutTransition transition);

    /// <summary>Replaces this replica's observations: the windows it filled since it entered transition
    /// <paramref name="index"/> (labelled outcomes since the rollout started).</summary>
    void Publish(int index, RolloutWindow champion, RolloutWindow candidate);

    /// <summary>Adds every replica's observations to the two windows: all of it from replicas at transition
    /// <paramref name="index"/>, only the labelled outcomes from replicas still at an earlier one.</summary>
    void Gather(int index, RolloutWindow champion, RolloutWindow candidate);
}
