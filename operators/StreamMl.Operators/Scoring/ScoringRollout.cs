using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Scoring;

/// <summary>A rollout that <see cref="VariantScoringOperator"/> feeds while <paramref name="Champion"/> answers: every
/// selected row's score (and labelled outcome) and each model's latency go to the champion's or the candidate's
/// <see cref="RolloutWindow"/>, recorded once per batch.</summary>
/// <param name="Rollout">The rollout to feed.</param>
/// <param name="Champion">The model the rollout started from.</param>
/// <param name="Candidate">The model rolled out (an A/B candidate or a shadow of the plan).</param>
public sealed record ScoringRollout(Rollout Rollout, IScoringModel Champion, IScoringModel Candidate);
