namespace StreamMl.Operators.Rollouts;

/// <summary>One guardrail's verdict on a rollout step.</summary>
/// <param name="Name">error-rate, latency-p99, score-psi, score-ks, label-metric or label-test.</param>
/// <param name="Value">What was measured (NaN when skipped).</param>
/// <param name="Limit">The limit it was held to.</param>
/// <param name="Passed">True when within the limit, or skipped.</param>
/// <param name="Skipped">True when there was not enough data to judge (the check does not block a step then).</param>
/// <param name="Message">What was measured and against what, in words.</param>
public sealed record GuardrailCheck(string Name, double Value, double Limit, bool Passed, bool Skipped, string Message);
