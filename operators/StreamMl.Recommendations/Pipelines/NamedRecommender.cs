namespace StreamMl.Recommendations.Pipelines;

/// <summary>A model of a <see cref="RecommendationState"/> and the name its checkpoint records it under.</summary>
/// <param name="Name">Unique within the state; a checkpoint restores only into models of the same names, in the same order.</param>
/// <param name="Recommender">The model.</param>
public sealed record NamedRecommender(string Name, IRecommender Recommender);
