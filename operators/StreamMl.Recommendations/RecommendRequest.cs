namespace StreamMl.Recommendations;

/// <summary>Filters and business rules for one <see cref="IRecommender.Recommend"/> call. Reuse an instance across
/// calls to keep serving allocation-free; <see cref="Default"/> has no filters and excludes seen items.</summary>
public sealed class RecommendRequest
{
    /// <summary>No filters, seen items excluded. Do not mutate.</summary>
    public static RecommendRequest Default { get; } = new();

    /// <summary>Only these items may be recommended; null (default) allows every item. Unknown ids are ignored.</summary>
    public IReadOnlySet<long>? AllowedItems { get; init; }

    /// <summary>Only items whose category is this value; null (default) allows every category.</summary>
    public int? Category { get; init; }

    /// <summary>Leave out items in the user's live profile (default true).</summary>
    public bool ExcludeSeen { get; init; } = true;

    /// <summary>Added to an item's score before ranking: positive boosts, negative buries (a large negative value puts
    /// the item after every other). Null (default) for none. Unknown ids are ignored.</summary>
    public IReadOnlyDictionary<long, float>? Boosts { get; init; }
}
