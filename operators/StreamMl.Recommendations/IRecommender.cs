namespace StreamMl.Recommendations;

/// <summary>A recommender that learns from a stream of interactions and answers top-k queries from each user's live
/// profile: an event is reflected in the next request. Update and Recommend may be called from different threads.</summary>
public interface IRecommender
{
    /// <summary>The model's name (popularity, itemknn, ease).</summary>
    string Name { get; }

    /// <summary>Counts of events applied, dropped as duplicates or late, and rejected.</summary>
    RecommenderStats Stats { get; }

    /// <summary>Learns from one interaction.</summary>
    void Update(in Interaction interaction);

    /// <summary>Learns from a batch of interactions, in row order.</summary>
    void Update(InteractionBatch batch);

    /// <summary>Writes the top <paramref name="k"/> items for <paramref name="user"/> to the front of
    /// <paramref name="results"/>, best first, and says how many and from where. An unknown user gets the popularity
    /// fallback. Throws when <paramref name="k"/> is below 1 or larger than <paramref name="results"/>; a k larger than
    /// the catalogue returns every eligible item.</summary>
    RecommendResult Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results);

    /// <summary>Writes profiles, item statistics and the model to <paramref name="destination"/>.</summary>
    void Snapshot(Stream destination);

    /// <summary>Replaces all state with a snapshot written by a recommender of the same kind; answers are then
    /// identical to the snapshotted one's.</summary>
    void Restore(Stream source);
}
