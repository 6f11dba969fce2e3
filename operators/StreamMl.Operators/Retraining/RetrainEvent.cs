namespace StreamMl.Operators.Retraining;

/// <summary>One step of a retrain, for the registry's history and logs.</summary>
/// <param name="At">When (the loop's clock).</param>
/// <param name="Action">retrain-triggered, retrain-trained, retrain-rejected, retrain-registered, retrain-promoted,
/// retrain-rolled-back or retrain-failed.</param>
/// <param name="Reason">What happened, with the numbers.</param>
/// <param name="Champion">The serving model when the retrain was triggered (the challenger's parent).</param>
/// <param name="Candidate">The registered challenger, once there is one.</param>
public sealed record RetrainEvent(DateTimeOffset At, string Action, string Reason, string Champion, string? Candidate);
