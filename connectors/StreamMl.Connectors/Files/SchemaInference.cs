using System.Text;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files;

/// <summary>How one column's type was chosen from a sample.</summary>
/// <param name="Name">Column name (for JSON Lines, the dotted path).</param>
/// <param name="Type">The type chosen.</param>
/// <param name="NonNull">Sampled values that were not null.</param>
/// <param name="Nulls">Sampled values that were null tokens or missing.</param>
/// <param name="Example">The first non-null value seen, as text.</param>
/// <param name="Reason">Why this type: the narrowest type every sampled value parses as, or an override.</param>
public sealed record InferredColumn(string Name, ColumnType Type, long NonNull, long Nulls, string? Example, string Reason)
{
    /// <summary>Sampled values that are not of <see cref="Type"/> (the type won by majority, see
    /// <see cref="FileSourceOptions.InferenceThreshold"/>): their rows will be dead-lettered with the rule <c>type</c>.</summary>
    public long Outliers { get; init; }

    /// <summary>The first few of <see cref="Outliers"/>, with their line.</summary>
    public IReadOnlyList<InferredValue> OutlierExamples { get; init; } = [];
}

/// <summary>A sampled value and the line (CSV, JSON Lines) it was read from.</summary>
/// <param name="Line">Line number in the file, 1-based (a CSV header is line 1).</param>
/// <param name="Value">The value as written.</param>
public sealed record InferredValue(long Line, string Value);

/// <summary>The schema inferred from a sample of a file, with the evidence for each column; <see cref="ToString"/>
/// prints it as a table for the user to check (and to copy into a declared schema).</summary>
/// <param name="File">The file sampled.</param>
/// <param name="SampledRows">Rows sampled.</param>
/// <param name="Columns">Each column's type and evidence, in file order.</param>
public sealed record SchemaInference(string File, long SampledRows, IReadOnlyList<InferredColumn> Columns)
{
    /// <summary>How the other files present at start differ from the first one: columns added to the schema (they are
    /// null in the rows of files without them) and columns some files lack.</summary>
    public IReadOnlyList<SchemaChange> Changes { get; init; } = [];

    /// <summary>The inferred schema; every column nullable, since a later row may lack a value.</summary>
    public Schema Schema => new(Columns.Select(c => new Field(c.Name, c.Type, true)));

    /// <summary>A declaration such as <c>ID:int64,LIMIT_BAL:int64,...</c>, accepted by <see cref="SchemaText.Parse"/>.</summary>
    public string Declaration => SchemaText.Format(Schema);

    /// <inheritdoc/>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("schema inferred from ").Append(SampledRows).Append(" rows of ").AppendLine(File);
        var width = Math.Max(6, Columns.Count == 0 ? 0 : Columns.Max(c => c.Name.Length));
        text.Append("  ").Append("column".PadRight(width)).Append("  type       nulls  example              why").AppendLine();
        foreach (var c in Columns)
        {
            var example = c.Example is null ? "-" : c.Example.Length > 20 ? c.Example[..17] + "..." : c.Example;
            text.Append("  ").Append(c.Name.PadRight(width)).Append("  ")
                .Append(ColumnTypes.Name(c.Type).PadRight(9)).Append("  ")
                .Append(c.Nulls.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(5)).Append("  ")
                .Append(example.PadRight(20)).Append(' ').Append(c.Reason).AppendLine();
        }
        foreach (var c in Columns.Where(c => c.Outliers > 0))
        {
            text.Append("  ").Append(c.Name).Append(": ").Append(c.Outliers).Append(c.Outliers == 1 ? " sampled value is not " : " sampled values are not ")
                .Append(ColumnTypes.Name(c.Type)).Append("; its rows will be dead-lettered (rule type): ")
                .AppendJoin(", ", c.OutlierExamples.Select(v => $"line {v.Line} '{v.Value}'"))
                .Append(c.Outliers > c.OutlierExamples.Count ? ", ..." : "").AppendLine();
        }
        foreach (var change in Changes) text.Append("  ").AppendLine(change.ToString());
        return text.ToString();
    }
}

/// <summary>Reads and writes schema declarations: <c>name:type,name:type</c> with the type names of
/// <see cref="ColumnTypes.Parse"/>; a trailing <c>!</c> on a type marks the column not nullable.</summary>
public static class SchemaText
{
    /// <summary>Parses a declaration such as <c>id:int64!,amount:float64,city:string</c>.</summary>
    public static Schema Parse(string declaration)
    {
        var fields = new List<Field>();
        foreach (var part in declaration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0) throw new SchemaMismatchException($"'{part}' in the schema declaration is not name:type (e.g. price:float64)");
            var type = part[(colon + 1)..].Trim();
            var required = type.EndsWith('!');
            fields.Add(new Field(part[..colon].Trim(), ColumnTypes.Parse(required ? type[..^1] : type), !required));
        }
        return new Schema(fields);
    }

    /// <summary>The declaration of a schema.</summary>
    public static string Format(Schema schema) =>
        string.Join(",", schema.Select(f => $"{f.Name}:{ColumnTypes.Name(f.Type)}{(f.Nullable ? "" : "!")}"));
}
