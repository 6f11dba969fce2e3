namespace StreamMl.Recommendations;

/// <summary>A column batch of interactions: one span per field, all of the same length. Empty
/// <see cref="Weights"/> means weight 1 for every row; empty <see cref="Categories"/> means no category.</summary>
public readonly ref struct InteractionBatch
{
    /// <summary>Creates a batch over the given columns; throws when their lengths differ.</summary>
    public InteractionBatch(ReadOnlySpan<long> users, ReadOnlySpan<long> items, ReadOnlySpan<long> timesMicros,
        ReadOnlySpan<float> weights = default, ReadOnlySpan<int> categories = default)
    {
        if (items.Length != users.Length || timesMicros.Length != users.Length
            || (!weights.IsEmpty && weights.Length != users.Length) || (!categories.IsEmpty && categories.Length != users.Length))
            throw new ArgumentException(
                $"interaction columns differ in length: users {users.Length}, items {items.Length}, times {timesMicros.Length}, " +
                $"weights {weights.Length}, categories {categories.Length} (weights and categories may be empty)");
        Users = users;
        Items = items;
        TimesMicros = timesMicros;
        Weights = weights;
        Categories = categories;
    }

    /// <summary>User id of each row.</summary>
    public ReadOnlySpan<long> Users { get; }

    /// <summary>Item id of each row.</summary>
    public ReadOnlySpan<long> Items { get; }

    /// <summary>Event time of each row, UTC microseconds since the Unix epoch.</summary>
    public ReadOnlySpan<long> TimesMicros { get; }

    /// <summary>Weight of each row, or empty for weight 1.</summary>
    public ReadOnlySpan<float> Weights { get; }

    /// <summary>Item category of each row, or empty.</summary>
    public ReadOnlySpan<int> Categories { get; }

    /// <summary>Number of rows.</summary>
    public int Length => Users.Length;

    /// <summary>Row <paramref name="row"/> as an <see cref="Interaction"/>.</summary>
    public Interaction this[int row] => new(Users[row], Items[row], TimesMicros[row],
        Weights.IsEmpty ? 1f : Weights[row], Categories.IsEmpty ? Interaction.NoCategory : Categories[row]);
}
