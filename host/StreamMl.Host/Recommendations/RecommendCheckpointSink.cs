using StreamMl.Engine;

namespace StreamMl.Host.Recommendations;

/// <summary>Makes the recommenders' state part of the pipeline's checkpoint: a batch counts as durable for this sink once
/// a snapshot taken after the models learnt from it is on disk, so the source never commits a position the snapshot
/// does not cover. Snapshots are written at the pipeline's flush interval when new batches arrived, and at the drain.</summary>
internal sealed class RecommendCheckpointSink(RecommendState state) : IBatchSink
{
    private SinkContext? _context;
    private long _written = -1;
    private long _saved = -1;

    public string Name => "recommend-checkpoint";

    public bool DurableOnWrite => false;

    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        return ValueTask.CompletedTask;
    }

    public void Write(ColumnBatch batch, long sequence) => _written = sequence;

    public void Flush()
    {
        if (_written <= _saved) return;
        var upTo = _written;
        state.WriteCheckpoint();
        _saved = upTo;
        _context?.MarkDurable(upTo);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
