namespace StreamMl.Operators.Retraining;

/// <summary>A trained challenger: how it compared with the champion, and whatever its owner needs to register it
/// (e.g. its ONNX bytes).</summary>
/// <param name="Gate">The comparison.</param>
/// <param name="Model">The owner's handle on the trained model.</param>
public sealed record RetrainCandidate(RetrainGateResult Gate, object? Model);
