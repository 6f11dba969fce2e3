using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Operators.Tests.Features;

/// <summary>Finds the shared datasets (../shared/data beside the repository root) and reads the small CSVs the feature
/// and scoring tests use into column batches.</summary>
internal static class FeatureTestData
{
    public static string DataRoot => StreamMl.Testing.SharedData.Root;

    public static string HousingCsv => Path.Combine(DataRoot, "california_housing", "housing.csv");

    public static string CreditCsv => Path.Combine(DataRoot, "credit_default", "UCI_Credit_Card.csv");

    /// <summary>Reads a CSV (no quoted commas) into batches: columns named in <paramref name="strings"/> become
    /// dictionary strings, the rest float64, empty cells null. Header quotes are stripped.</summary>
    public static List<ColumnBatch> ReadCsv(string path, int capacity, ISet<string>? strings = null, int? maxRows = null)
    {
        strings ??= new HashSet<string>();
        using var reader = new StreamReader(path);
        var header = reader.ReadLine()!.Split(',').Select(h => h.Trim('"')).ToArray();
        var schema = new Schema(header.Select(h => new Field(h, strings.Contains(h) ? ColumnType.String : ColumnType.Float64)));
        var batches = new List<ColumnBatch>();
        ColumnBatch? batch = null;
        var rows = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null && (maxRows is null || rows < maxRows))
        {
            if (line.Length == 0) continue;
            if (batch is null || batch.Length == batch.Capacity)
            {
                batch = new ColumnBatch(schema, capacity);
                batches.Add(batch);
            }
            var cells = line.Split(',');
            var row = batch.Length;
            for (var c = 0; c < header.Length; c++)
            {
                var cell = cells[c].Trim('"');
                var column = batch[c];
                if (cell.Length == 0) { column.SetNull(row); continue; }
                if (column.Type == ColumnType.String) column.Values<int>()[row] = column.Dictionary!.GetOrAdd(cell);
                else column.Values<double>()[row] = double.Parse(cell, CultureInfo.InvariantCulture);
            }
            SetLengthKeepingNulls(batch, row + 1);
            rows++;
        }
        return batches;
    }

    // Setting Length resets the selection only; null bits and values stay.
    private static void SetLengthKeepingNulls(ColumnBatch batch, int length) => batch.Length = length;

    /// <summary>A copy of <paramref name="source"/> whose schema also has the pipeline's output columns.</summary>
    public static ColumnBatch WithSchema(ColumnBatch source, Schema schema)
    {
        var batch = new ColumnBatch(schema, source.Capacity);
        for (var row = 0; row < source.Length; row++)
        {
            for (var c = 0; c < source.Schema.Count; c++) batch[schema.Require(source.Schema[c].Name)].CopyRow(source[c], row, row);
        }
        batch.Length = source.Length;
        return batch;
    }

    public static void DisposeAll(IEnumerable<ColumnBatch> batches)
    {
        foreach (var b in batches) b.Dispose();
    }
}
