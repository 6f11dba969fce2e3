namespace StreamMl.Operators.Reporting;

/// <summary>A plain table section that any component can add to a report (recommender variants, model versions, ...).
/// Cells are text; numbers should be formatted by whoever adds them.</summary>
public sealed class ReportTable
{
    /// <summary>Section heading.</summary>
    public required string Title { get; init; }

    /// <summary>One sentence under the heading; optional.</summary>
    public string Description { get; init; } = "";

    /// <summary>Column headings.</summary>
    public required IReadOnlyList<string> Columns { get; init; }

    /// <summary>Rows, each with one cell per column.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; init; } = [];
}
