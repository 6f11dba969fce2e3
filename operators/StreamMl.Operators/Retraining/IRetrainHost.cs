using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Retraining;

/// <summary>What a <see cref="RetrainLoop"/> asks its owner to do: train and compare, register, roll out, and keep the
/// history. Exceptions thrown by any of these become <c>retrain-failed</c> events.</summary>
public interface IRetrainHost
{
    /// <summary>Trains a challenger for <paramref name="request"/> and compares it with the champion (e.g. with
    /// <see cref="RetrainGate.Run"/>). Runs on a background thread while the pipeline goes on.</summary>
    Task<RetrainCandidate> TrainAsync(RetrainRequest request, CancellationToken cancellationToken);

    /// <summary>Registers a challenger that passed the gate, with its lineage (trigger, window, parent); returns its name
    /// as the rollout knows it.</summary>
    string Register(RetrainRequest request, RetrainCandidate candidate);

    /// <summary>Starts the rollout of the registered challenger against the serving model (shadow first) and returns it;
    /// the owner ticks it. The loop waits for it to finish.</summary>
    Rollout StartRollout(string candidate, RolloutOptions options);

    /// <summary>Records a step (registry history, log). Called in order, from the thread that ticks the loop.</summary>
    void Record(RetrainEvent retrainEvent);
}
