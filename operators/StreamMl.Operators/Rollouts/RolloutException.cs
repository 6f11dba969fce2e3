using StreamMl.Engine;

namespace StreamMl.Operators.Rollouts;

/// <summary>A rollout setting or request that cannot be carried out; the message says which and why.</summary>
public sealed class RolloutException(string message) : StreamMlException(message);
