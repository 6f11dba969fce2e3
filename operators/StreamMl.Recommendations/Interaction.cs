namespace StreamMl.Recommendations;

/// <summary>One user-item interaction: a view, click, purchase or rating.</summary>
/// <param name="User">The user's id.</param>
/// <param name="Item">The item's id.</param>
/// <param name="TimeMicros">Event time, UTC microseconds since the Unix epoch.</param>
/// <param name="Weight">Strength of the interaction (event-type weight or rating); 1 for a plain implicit event.</param>
/// <param name="Category">The item's category, or <see cref="Interaction.NoCategory"/>; the latest value seen for an item wins.</param>
public readonly record struct Interaction(long User, long Item, long TimeMicros, float Weight = 1f, int Category = Interaction.NoCategory)
{
    /// <summary>Category value meaning "not given".</summary>
    public const int NoCategory = -1;
}
