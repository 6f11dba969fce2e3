namespace StreamMl.Recommendations;

/// <summary>Settings of <see cref="ItemKnnRecommender"/>.</summary>
public sealed class ItemKnnOptions : RecommenderOptions
{
    /// <summary>Co-occurring items kept per item (default 100). When full, a new neighbour replaces the one with the
    /// smallest co-occurrence count.</summary>
    public int MaxNeighbours { get; init; } = 100;

    /// <summary>A user's new item co-occurs with this many of the user's most recent other items (default 10); the
    /// update costs O(window) per event. Set it to <see cref="RecommenderOptions.ProfileCapacity"/> for classic
    /// whole-history co-occurrence.</summary>
    public int CoOccurrenceWindow { get; init; } = 10;

    internal new void Validate()
    {
        base.Validate();
        if (MaxNeighbours < 1) throw new ArgumentOutOfRangeException(nameof(MaxNeighbours), MaxNeighbours, "max neighbours must be at least 1");
        if (CoOccurrenceWindow < 1) throw new ArgumentOutOfRangeException(nameof(CoOccurrenceWindow), CoOccurrenceWindow, "co-occurrence window must be at least 1");
    }
}
