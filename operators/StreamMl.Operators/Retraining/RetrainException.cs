using StreamMl.Engine;

namespace StreamMl.Operators.Retraining;

/// <summary>A retrain setting that cannot be used, with what was wrong and how to fix it.</summary>
public sealed class RetrainException(string message) : StreamMlException(message);
