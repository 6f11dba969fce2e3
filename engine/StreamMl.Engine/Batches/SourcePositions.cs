namespace StreamMl.Engine;

/// <summary>A contiguous run of source offsets in one partition: <see cref="Start"/> inclusive, <see cref="End"/> exclusive.
/// What a partition and an offset mean is the source's business: a file index and byte offset, a Kafka partition and offset,
/// a database cursor value.</summary>
public readonly record struct SourceRange(int Partition, long Start, long End);

/// <summary>The source ranges a batch's rows came from. When every sink has made the batch durable, the pipeline hands the
/// ranges back to the source to commit. Pre-sized; adding to a known partition does not allocate.</summary>
public sealed class SourcePositions
{
    private SourceRange[] _ranges = new SourceRange[4];

    /// <summary>Number of partitions the batch touched.</summary>
    public int Count { get; private set; }

    /// <summary>The ranges, one per partition.</summary>
    public ReadOnlySpan<SourceRange> Ranges => _ranges.AsSpan(0, Count);

    /// <summary>Records that offset <paramref name="offset"/> of <paramref name="partition"/> is in the batch, and that
    /// the next offset to read after it is <paramref name="next"/>.</summary>
    public void Add(int partition, long offset, long next)
    {
        for (var i = 0; i < Count; i++)
        {
            ref var range = ref _ranges[i];
            if (range.Partition != partition) continue;
            range = new SourceRange(partition, Math.Min(range.Start, offset), Math.Max(range.End, next));
            return;
        }
        if (Count == _ranges.Length) Array.Resize(ref _ranges, Count * 2);
        _ranges[Count++] = new SourceRange(partition, offset, next);
    }

    /// <summary>Forgets every range.</summary>
    public void Clear() => Count = 0;

    /// <summary>Makes this set equal to <paramref name="other"/>.</summary>
    public void CopyFrom(SourcePositions other)
    {
        Clear();
        foreach (var range in other.Ranges) Add(range.Partition, range.Start, range.End);
    }
}
