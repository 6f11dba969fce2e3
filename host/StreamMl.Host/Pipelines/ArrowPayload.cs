using Apache.Arrow;

namespace StreamMl.Host.Pipelines;

/// <summary>One Ingest message's Arrow payload while its rows wait in the queue: the pooled array the record batches'
/// buffers point into (<see cref="Grpc.IngestRequestReader"/>) and the batches themselves. The request handler holds
/// one reference and every queued chunk one more; the last release disposes the batches and returns the array.</summary>
internal sealed class ArrowPayload(byte[]? pooled)
{
    private List<RecordBatch>? _batches;
    private int _references = 1;

    /// <summary>The record batches read from the payload, disposed with it.</summary>
    public void Hold(List<RecordBatch> batches) => _batches = batches;

    /// <summary>One more holder (a queued chunk).</summary>
    public void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>One holder fewer; the last one frees the batches and the array.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        if (_batches is not null)
            foreach (var batch in _batches) batch.Dispose();
        _batches = null;
        if (pooled is not null) Grpc.IngestRequestReader.Return(pooled);
    }
}
