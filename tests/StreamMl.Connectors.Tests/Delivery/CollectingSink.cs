using System.Collections.Concurrent;
using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Delivery;

/// <summary>A test sink that keeps every selected row as text ("col=value|col=value"), with its source partition and
/// offset. It can buffer (durable only on flush, like a file sink) and can crash after a number of rows.</summary>
internal sealed class CollectingSink(bool durableOnWrite = true, int crashAfterRows = int.MaxValue, int writeDelayMs = 0) : IBatchSink
{
    private readonly ConcurrentQueue<CollectedRow> _rows = new();
    private SinkContext? _context;
    private long _lastWritten = -1;
    private int _count;

    public string Name => "collect";
    public bool DurableOnWrite => durableOnWrite;
    public IReadOnlyList<CollectedRow> Rows => [.. _rows];
    public int Count => Volatile.Read(ref _count);

    /// <summary>Rows that were made durable (all rows when durable on write).</summary>
    public long DurableSequence { get; private set; } = -1;

    /// <summary>How many of the first rows in <see cref="Rows"/> were durable at the last flush.</summary>
    public int DurableRows { get; private set; }

    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        return ValueTask.CompletedTask;
    }

    public void Write(ColumnBatch batch, long sequence)
    {
        // A slow sink (a remote store): lets flushes, and so checkpoints, happen between batches.
        if (writeDelayMs > 0) Thread.Sleep(writeDelayMs);
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            if (_count >= crashAfterRows) throw new InvalidOperationException("simulated crash of the sink");
            _rows.Enqueue(new CollectedRow(batch.RowPartitions[row], batch.RowOffsets[row], batch.EventTimes[row], Format(batch, row)));
            Interlocked.Increment(ref _count);
        }
        _lastWritten = sequence;
        if (durableOnWrite)
        {
            DurableSequence = sequence;
            DurableRows = Count;
        }
    }

    public void Flush()
    {
        if (durableOnWrite || _lastWritten < 0) return;
        DurableSequence = _lastWritten;
        DurableRows = Count;
        _context?.MarkDurable(_lastWritten);
    }

    public async Task WaitForAsync(int rows, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Count < rows)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"the sink got {Count} rows, expected {rows} within {timeout}");
            await Task.Delay(20);
        }
    }

    public static string Format(ColumnBatch batch, int row)
    {
        var parts = new string[batch.Schema.Count];
        for (var c = 0; c < batch.Schema.Count; c++)
        {
            var column = batch[c];
            string value;
            if (!column.IsValid(row)) value = "null";
            else value = column.Type switch
            {
                ColumnType.Float32 => column.Values<float>()[row].ToString("R", CultureInfo.InvariantCulture),
                ColumnType.Float64 => column.Values<double>()[row].ToString("R", CultureInfo.InvariantCulture),
                ColumnType.Int32 => column.Values<int>()[row].ToString(CultureInfo.InvariantCulture),
                ColumnType.Int64 or ColumnType.Timestamp => column.Values<long>()[row].ToString(CultureInfo.InvariantCulture),
                ColumnType.Bool => column.Values<byte>()[row] != 0 ? "true" : "false",
                _ => column.Dictionary![column.Values<int>()[row]],
            };
            parts[c] = column.Field.Name + "=" + value;
        }
        return string.Join("|", parts);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>One row a <see cref="CollectingSink"/> received.</summary>
internal sealed record CollectedRow(int Partition, long Offset, long EventTime, string Values)
{
    public string Get(string column)
    {
        foreach (var part in Values.Split('|'))
            if (part.StartsWith(column + "=", StringComparison.Ordinal)) return part[(column.Length + 1)..];
        throw new KeyNotFoundException(column);
    }
}
