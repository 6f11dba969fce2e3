namespace StreamMl.Operators.Scoring;

/// <summary>Which models <see cref="VariantScoringOperator"/> runs for a batch: the one that answers, an A/B candidate
/// that answers a share of the keys, shadows that score every row for comparison only, and a rollout to feed. Plans are
/// immutable; a source hands out a new one when the deployment changes (and the same instance otherwise, so a batch
/// allocates nothing).</summary>
/// <param name="Answering">The model that answers every row not routed to the candidate; null: no model, scores are null.</param>
/// <param name="Candidate">The A/B candidate, or null.</param>
/// <param name="CandidateTraffic">The candidate's share of routing buckets, 0 to 1.</param>
/// <param name="Shadows">Models that score every row without answering.</param>
/// <param name="Rollout">A rollout to feed, or null.</param>
/// <param name="Source">What the plan was made from, for the plan source's own use (the operator never reads it).</param>
public sealed record ScoringPlan(
    IScoringModel? Answering,
    IScoringModel? Candidate,
    double CandidateTraffic,
    IReadOnlyList<IScoringModel> Shadows,
    ScoringRollout? Rollout = null,
    object? Source = null)
{
    /// <summary>No model: every score is null.</summary>
    public static ScoringPlan Empty { get; } = new(null, null, 0, []);
}
