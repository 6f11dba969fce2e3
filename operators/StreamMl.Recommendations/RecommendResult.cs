namespace StreamMl.Recommendations;

/// <summary>What <see cref="IRecommender.Recommend"/> wrote: how many items, and where they came from.</summary>
/// <param name="Count">Items written to the front of the results span, best first; fewer than k when filters leave fewer.</param>
/// <param name="Source">The model, or the popularity fallback and why.</param>
public readonly record struct RecommendResult(int Count, RecommendationSource Source)
{
    /// <summary>True when the answer is the popularity fallback rather than the model's.</summary>
    public bool IsFallback => Source != RecommendationSource.Model;
}
