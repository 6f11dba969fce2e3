namespace StreamMl.Recommendations.Pipelines;

/// <summary>Which batch columns hold an interaction's fields.</summary>
public sealed class InteractionColumns
{
    /// <summary>User id column: int32, int64 or string (default "user").</summary>
    public string User { get; init; } = "user";

    /// <summary>Item id column: int32, int64 or string (default "item").</summary>
    public string Item { get; init; } = "item";

    /// <summary>Event time column (timestamp or int64 microseconds); null (default) uses each row's event time.</summary>
    public string? Time { get; init; }

    /// <summary>Weight or rating column (float32, float64, int32 or int64); null (default) gives every event weight 1.</summary>
    public string? Weight { get; init; }

    /// <summary>Item category column (int32 or string); null (default) for none.</summary>
    public string? Category { get; init; }

    /// <summary>The most distinct string user ids the operator maps (default 10,000,000); rows of further new users go to
    /// dead letters. Unused for numeric user columns.</summary>
    public int MaxUserIds { get; init; } = 10_000_000;

    /// <summary>The most distinct string item ids the operator maps (default 1,000,000); rows of further new items go to
    /// dead letters. Unused for numeric item columns.</summary>
    public int MaxItemIds { get; init; } = 1_000_000;
}
