using StreamMl.Engine;

namespace StreamMl.Connectors.Memory;

/// <summary>An in-memory sink that keeps counts and, optionally, a running sum of one float column; it allocates
/// nothing per batch, so it measures the pipeline rather than the sink.</summary>
public sealed class CountingSink(string name = "memory", string? sumColumn = null) : IBatchSink
{
    private int _sumColumn = -1;
    private long _rows;
    private long _batches;

    /// <inheritdoc/>
    public string Name { get; } = name;

    /// <summary>Selected rows written.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>Batches written.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Sum of the selected, valid values of the sum column (0 when none was named).</summary>
    public double Sum { get; private set; }

    /// <inheritdoc/>
    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        if (sumColumn is not null) _sumColumn = context.Schema.Require(sumColumn, ColumnType.Float32);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void Write(ColumnBatch batch, long sequence)
    {
        if (_sumColumn >= 0)
        {
            var values = batch.Values<float>(_sumColumn);
            var column = batch[_sumColumn];
            var sum = 0.0;
            for (var row = 0; row < values.Length; row++)
                if (batch.Selection.IsSelected(row) && column.IsValid(row)) sum += values[row];
            Sum += sum;
        }
        Interlocked.Add(ref _rows, batch.Selection.Count);
        Interlocked.Increment(ref _batches);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
