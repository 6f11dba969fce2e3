using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Delivery;

/// <summary>A bounded test source over rows given as arrays of objects (null = null), one partition, offset = index.</summary>
internal sealed class ArraySource(Schema schema, IReadOnlyList<object?[]> rows) : IBatchSource
{
    private int _next;

    public string Name => "array";
    public Schema Schema => schema;
    public List<SourceRange> Committed { get; } = [];

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var columns = schema.Select(f => batch.Schema.Require(f.Name, f.Type)).ToArray();
        var row = 0;
        while (row < batch.Capacity && _next < rows.Count)
        {
            var values = rows[_next];
            for (var c = 0; c < columns.Length; c++)
            {
                var column = batch[columns[c]];
                var value = values[c];
                if (value is null)
                {
                    column.SetNull(row);
                    continue;
                }
                column.SetValid(row);
                switch (column.Type)
                {
                    case ColumnType.Float32: column.Values<float>()[row] = (float)value; break;
                    case ColumnType.Float64: column.Values<double>()[row] = (double)value; break;
                    case ColumnType.Int32: column.Values<int>()[row] = (int)value; break;
                    case ColumnType.Int64 or ColumnType.Timestamp: column.Values<long>()[row] = (long)value; break;
                    case ColumnType.Bool: column.Values<byte>()[row] = (bool)value ? (byte)1 : (byte)0; break;
                    case ColumnType.String: column.Values<int>()[row] = column.Dictionary!.GetOrAdd((string)value); break;
                }
            }
            batch.EventTimesBuffer[row] = _next;
            batch.RowOffsetsBuffer[row] = _next;
            batch.RowPartitionsBuffer[row] = 0;
            batch.Positions.Add(0, _next, _next + 1);
            row++;
            _next++;
        }
        batch.Length = row;
        return ValueTask.FromResult(_next < rows.Count);
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        lock (Committed) Committed.AddRange(ranges.ToArray());
    }

    public string Describe(int partition, long offset) => $"row {offset}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
