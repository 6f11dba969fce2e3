namespace StreamMl.Recommendations;

/// <summary>Where a list of recommendations came from.</summary>
public enum RecommendationSource : byte
{
    /// <summary>The model, from the user's live profile.</summary>
    Model,
    /// <summary>The user is unknown (or has no usable history): most popular items, decayed by time.</summary>
    PopularityUnknownUser,
    /// <summary>The model has not been fitted yet (EASE before its first refit): most popular items.</summary>
    PopularityModelNotReady,
}
