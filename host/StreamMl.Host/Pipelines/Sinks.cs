using StreamMl.Engine;

namespace StreamMl.Host.Pipelines;

/// <summary>Publishes the selected rows of each batch to the pipeline's Subscribe clients. It builds protobuf rows
/// only while someone subscribes to rows, so an unwatched pipeline pays nothing for it.</summary>
internal sealed class SubscriptionSink(EventHub events) : IBatchSink
{
    public string Name => "subscribers";

    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Write(ColumnBatch batch, long sequence)
    {
        if (!events.HasRowSubscribers || batch.Selection.Count == 0) return;
        events.PublishRows(columns => RowCodec.ToRowSet(batch, columns));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Counts rows and keeps the last few in memory: a sink for trying a spec out, for tests and for `run`
/// without outputs.</summary>
internal sealed class MemorySink(int keepRows) : IBatchSink
{
    private readonly Queue<string> _last = new();
    private long _rows;

    public string Name => "memory";

    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>The last rows written, formatted as name=value pairs.</summary>
    public IReadOnlyList<string> LastRows
    {
        get
        {
            lock (_last) return [.. _last];
        }
    }

    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Write(ColumnBatch batch, long sequence)
    {
        var count = batch.Selection.Count;
        Interlocked.Add(ref _rows, count);
        if (keepRows <= 0) return;
        lock (_last)
        {
            for (var row = Math.Max(0, batch.Length - keepRows); row < batch.Length; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                _last.Enqueue(DeadLetter.FormatRow(batch, row));
                while (_last.Count > keepRows) _last.Dequeue();
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
