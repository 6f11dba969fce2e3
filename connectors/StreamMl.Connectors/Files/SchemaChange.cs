namespace StreamMl.Connectors.Files;

/// <summary>How a file's columns differ from the source's schema.</summary>
public enum SchemaChangeKind
{
    /// <summary>The column is not in the first file; it was added to the inferred schema and is null in the rows of
    /// files without it.</summary>
    Added,

    /// <summary>The file has a column the schema lacks (declared, or inferred before the file appeared): its values
    /// are not read.</summary>
    NotRead,

    /// <summary>The file lacks a column of the schema: the column is null in every row of the file.</summary>
    Missing,
}

/// <summary>A column of one file that differs from the schema; reported, never silent.</summary>
/// <param name="File">The file.</param>
/// <param name="Column">The column name (for JSON Lines, its dotted path).</param>
/// <param name="Kind">What differs.</param>
public sealed record SchemaChange(string File, string Column, SchemaChangeKind Kind)
{
    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        SchemaChangeKind.Added => $"schema change: column '{Column}' first appears in {File}; added (null in the rows of files without it)",
        SchemaChangeKind.NotRead => $"schema change: {File} has column '{Column}', which is not in the schema; its values are not read (declare it to read it)",
        _ => $"schema change: {File} has no column '{Column}'; it is null in every row of that file",
    };
}
