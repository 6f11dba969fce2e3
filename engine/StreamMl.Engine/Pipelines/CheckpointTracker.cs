namespace StreamMl.Engine;

/// <summary>Remembers the source ranges of every published batch until all sinks have made it durable, then hands
/// the merged ranges to the source to commit. Positions are copied out of ring slots at publish time because a slot
/// can be reused before a buffering sink makes its batch durable.</summary>
internal sealed class CheckpointTracker
{
    private readonly object _gate = new();
    // Commits are ordered by this lock but run outside _gate, so a slow commit (Kafka, a file rename) never stalls the
    // producer recording the next batch's positions.
    private readonly object _commitGate = new();
    private SourceRange[] _commitBuffer = new SourceRange[16];
    private readonly Queue<(long Sequence, SourceRange Range)> _pending = new(256);
    private readonly long[] _durable;
    private readonly IBatchSource _source;
    private readonly List<SourceRange> _merge = new(16);
    private long _committed = -1;

    private readonly IDeadLetterSink _deadLetters;

    public CheckpointTracker(IBatchSource source, int sinkCount, IDeadLetterSink deadLetters)
    {
        _source = source;
        _deadLetters = deadLetters;
        _durable = new long[Math.Max(sinkCount, 1)];
        Array.Fill(_durable, -1L);
        if (sinkCount == 0) _durable[0] = long.MaxValue;
    }

    /// <summary>Highest sequence whose positions were committed to the source.</summary>
    public long Committed => Volatile.Read(ref _committed);

    /// <summary>Called by the producer after filling slot <paramref name="sequence"/>, before publishing it.</summary>
    public void Record(long sequence, SourcePositions positions)
    {
        lock (_gate)
        {
            foreach (var range in positions.Ranges) _pending.Enqueue((sequence, range));
        }
    }

    /// <summary>Sink <paramref name="sink"/> made every batch up to <paramref name="sequence"/> durable.</summary>
    public void MarkDurable(int sink, long sequence)
    {
        lock (_commitGate)
        {
            var count = Collect(sink, sequence);
            if (count == 0) return;
            // Rejected rows of these batches must be safe before their positions are.
            _deadLetters.Flush();
            _source.Commit(_commitBuffer.AsSpan(0, count));
        }
    }

    private int Collect(int sink, long sequence)
    {
        lock (_gate)
        {
            if (sequence <= _durable[sink]) return 0;
            _durable[sink] = sequence;
            var upTo = _durable.Min();
            if (upTo <= _committed) return 0;
            _merge.Clear();
            while (_pending.Count > 0 && _pending.Peek().Sequence <= upTo)
            {
                var range = _pending.Dequeue().Range;
                var index = IndexOfPartition(range.Partition);
                if (index < 0) _merge.Add(range);
                else
                {
                    var merged = _merge[index];
                    _merge[index] = new SourceRange(range.Partition, Math.Min(merged.Start, range.Start), Math.Max(merged.End, range.End));
                }
            }
            Volatile.Write(ref _committed, upTo == long.MaxValue ? _committed : upTo);
            if (_commitBuffer.Length < _merge.Count) _commitBuffer = new SourceRange[_merge.Count * 2];
            _merge.CopyTo(_commitBuffer);
            return _merge.Count;
        }
    }

    private int IndexOfPartition(int partition)
    {
        for (var i = 0; i < _merge.Count; i++)
            if (_merge[i].Partition == partition) return i;
        return -1;
    }

    /// <summary>Commits everything recorded up to <paramref name="sequence"/> when the pipeline has no sinks.</summary>
    public void CommitWithoutSinks(long sequence)
    {
        lock (_gate) _durable[0] = -1;
        MarkDurable(0, sequence);
    }
}
