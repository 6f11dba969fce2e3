using System.Security.Cryptography;
using System.Text;
using StreamMl.Engine;

namespace StreamMl.Host.Training;

/// <summary>One column of a <see cref="DataTable"/>: numbers (NaN = missing) or text (null = missing).</summary>
internal sealed class DataColumn(string name, double[]? numbers, string?[]? texts)
{
    public string Name { get; } = name;
    public double[]? Numbers { get; } = numbers;
    public string?[]? Texts { get; } = texts;
    public bool IsNumeric => Numbers is not null;
    public bool HasMissing => IsNumeric ? Numbers!.Any(double.IsNaN) : Texts!.Any(t => t is null);
}

/// <summary>A bounded table read whole for training: columns typed by what their values parse as, handed to the
/// feature pipeline as engine column batches.</summary>
internal sealed class DataTable
{
    private readonly Dictionary<string, int> _index;

    public DataTable(string source, IReadOnlyList<DataColumn> columns, int rows, IReadOnlyList<long> lineNumbers)
    {
        Source = source;
        Columns = columns;
        Rows = rows;
        LineNumbers = lineNumbers;
        _index = columns.Select((c, i) => (c.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
    }

    public string Source { get; }
    public IReadOnlyList<DataColumn> Columns { get; }
    public int Rows { get; }

    /// <summary>The file line of each row, for error messages.</summary>
    public IReadOnlyList<long> LineNumbers { get; }

    public DataColumn? Find(string name) => _index.TryGetValue(name, out var i) ? Columns[i] : null;

    public DataColumn Require(string name, string role) => Find(name) ?? throw new StreamMlException(
        $"{Source}: the spec's {role} '{name}' is not a column; columns are: {string.Join(", ", Columns.Select(c => c.Name))}");

    /// <summary>The engine schema of the given columns: numbers as float64, text as dictionary strings.</summary>
    public Schema SchemaOf(IEnumerable<string> names) =>
        new(names.Select(n => new Field(n, Require(n, "column").IsNumeric ? ColumnType.Float64 : ColumnType.String)));

    /// <summary>Batches of <paramref name="schema"/> (a superset of table columns: others are left for operators)
    /// holding <paramref name="rows"/>, in order.</summary>
    public IEnumerable<ColumnBatch> Batches(Schema schema, IReadOnlyList<int> rows, int capacity = ColumnBatch.DefaultCapacity)
    {
        for (var start = 0; start < rows.Count; start += capacity)
        {
            var batch = new ColumnBatch(schema, capacity);
            Fill(batch, rows, start);
            yield return batch;
        }
    }

    /// <summary>Fills a reset batch with rows[start..] (as many as fit); sets its length, row offsets (file lines) and
    /// returns the number of rows written.</summary>
    public int Fill(ColumnBatch batch, IReadOnlyList<int> rows, int start)
    {
        var count = Math.Min(batch.Capacity, rows.Count - start);
        var schema = batch.Schema;
        for (var c = 0; c < schema.Count; c++)
        {
            var column = Find(schema[c].Name);
            if (column is null) continue;
            var target = batch[c];
            if (column.IsNumeric)
            {
                if (target.Type != ColumnType.Float64)
                    throw new SchemaMismatchException($"column '{column.Name}' is numeric in {Source}; the batch wants {ColumnTypes.Name(target.Type)}");
                var values = target.Values<double>();
                for (var i = 0; i < count; i++)
                {
                    var v = column.Numbers![rows[start + i]];
                    values[i] = v;
                    if (double.IsNaN(v)) target.SetNull(i);
                }
            }
            else
            {
                if (target.Type != ColumnType.String)
                    throw new SchemaMismatchException($"column '{column.Name}' is text in {Source}; the batch wants {ColumnTypes.Name(target.Type)}");
                var codes = target.Values<int>();
                for (var i = 0; i < count; i++)
                {
                    var text = column.Texts![rows[start + i]];
                    if (text is null) { codes[i] = 0; target.SetNull(i); }
                    else codes[i] = target.Dictionary!.GetOrAdd(text);
                }
            }
        }
        for (var i = 0; i < count; i++) batch.RowOffsetsBuffer[i] = LineNumbers[rows[start + i]];
        batch.Length = count;
        return count;
    }

    /// <summary>SHA-256 of the given columns' values over every row, in order (independent of number formatting).</summary>
    public string Fingerprint(IReadOnlyList<string> columns)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> buffer = stackalloc byte[8];
        foreach (var name in columns)
        {
            var column = Require(name, "column");
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            for (var r = 0; r < Rows; r++)
            {
                if (column.IsNumeric)
                {
                    BitConverter.TryWriteBytes(buffer, column.Numbers![r]);
                    hash.AppendData(buffer);
                }
                else
                {
                    hash.AppendData(Encoding.UTF8.GetBytes(column.Texts![r] ?? "\0null"));
                    hash.AppendData([0]);
                }
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
