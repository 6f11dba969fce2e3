namespace StreamMl.Recommendations.Serving;

/// <summary>One arm of an A/B test: a name, the recommender that answers for it and its traffic weight.</summary>
/// <param name="Name">Shown in answers and metrics, and used to pick the variant explicitly.</param>
/// <param name="Recommender">The model answering the variant's users.</param>
/// <param name="Weight">Relative share of users (non-negative).</param>
public sealed record RecommendationVariant(string Name, IRecommender Recommender, double Weight);
