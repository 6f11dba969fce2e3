namespace StreamMl.Recommendations.Serving;

/// <summary>What <see cref="RecommendationServer.Recommend"/> served.</summary>
/// <param name="Variant">Index of the variant that answered (see <see cref="RecommendationServer.Variants"/>).</param>
/// <param name="Result">How many items were written and whether they are the popularity fallback.</param>
public readonly record struct ServedRecommendation(int Variant, RecommendResult Result);
