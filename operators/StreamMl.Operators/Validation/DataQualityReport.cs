using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>What one rule did over a run.</summary>
/// <param name="Rule">Rule kind.</param>
/// <param name="Column">Column it checked.</param>
/// <param name="Action">reject, filter, null or clip.</param>
/// <param name="Rejected">Rows dead-lettered.</param>
/// <param name="Filtered">Rows dropped without a dead letter.</param>
/// <param name="Changed">Values changed in place.</param>
public sealed record RuleReport(string Rule, string Column, string Action, long Rejected, long Filtered, long Changed);

/// <summary>Statistics of one column of the rows that passed validation.</summary>
/// <param name="Name">Column name.</param>
/// <param name="Type">Column type.</param>
/// <param name="Count">Rows.</param>
/// <param name="Nulls">Null rows.</param>
/// <param name="MissingRatio">Nulls / Count.</param>
/// <param name="Min">Smallest value (numbers).</param>
/// <param name="Max">Largest value (numbers).</param>
/// <param name="Mean">Mean (numbers).</param>
/// <param name="Distinct">Distinct non-null values.</param>
/// <param name="DistinctExact">False when <paramref name="Distinct"/> is a HyperLogLog estimate.</param>
public sealed record ColumnReport(string Name, string Type, long Count, long Nulls, double MissingRatio, double? Min, double? Max, double? Mean,
    long Distinct, bool DistinctExact)
{
    internal static ColumnReport From(ColumnStats s) => new(s.Field.Name, ColumnTypes.Name(s.Field.Type), s.Count, s.Nulls, s.MissingRatio,
        s.Min, s.Max, double.IsNaN(s.Mean) ? null : s.Mean, s.Distinct, s.DistinctIsExact);
}

/// <summary>The data-quality report of a validation run: counts per rule, missing ratios and per-column
/// min/max/mean/distinct of the rows that passed. <see cref="ToJson"/> writes it for people and tools.</summary>
/// <param name="Stage">Validator stage name.</param>
/// <param name="RowsIn">Rows received.</param>
/// <param name="RowsOut">Rows passed on.</param>
/// <param name="RowsRejected">Rows dead-lettered by rules.</param>
/// <param name="RowsFiltered">Rows dropped by rules without dead letters.</param>
/// <param name="NullCellsIn">Null cells received (before imputation).</param>
/// <param name="Rules">Each rule's counts.</param>
/// <param name="Columns">Each column's statistics after validation.</param>
/// <param name="DroppedColumns">Columns left out of the output (e.g. by missing ratio).</param>
public sealed record DataQualityReport(string Stage, long RowsIn, long RowsOut, long RowsRejected, long RowsFiltered, long NullCellsIn,
    IReadOnlyList<RuleReport> Rules, IReadOnlyList<ColumnReport> Columns, IReadOnlyList<string> DroppedColumns)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The report as indented JSON (camelCase names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static DataQualityReport FromJson(string json) =>
        JsonSerializer.Deserialize<DataQualityReport>(json, s_json) ?? throw new StreamMlException("the data-quality report is empty");
}
