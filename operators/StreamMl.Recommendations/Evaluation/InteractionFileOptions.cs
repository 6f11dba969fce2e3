namespace StreamMl.Recommendations.Evaluation;

/// <summary>How to read a delimited file of interactions. Columns are named by their header, or, in a file without a
/// header (or when no header name matches), by their 1-based position.</summary>
public sealed class InteractionFileOptions
{
    /// <summary>User id column (required).</summary>
    public required string User { get; init; }

    /// <summary>Item id column (required).</summary>
    public required string Item { get; init; }

    /// <summary>Event time column (required): Unix seconds, or an ISO 8601 date and time.</summary>
    public required string Time { get; init; }

    /// <summary>Rating column used as the event weight; null (default) gives every event weight 1.</summary>
    public string? Rating { get; init; }

    /// <summary>Field separator (default ',').</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first line names the columns (default true).</summary>
    public bool HasHeader { get; init; } = true;
}
