using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>What a chunk slot holds: whole lines of a CSV file to parse, the end of the file, the place where
/// sequential reading must take over, or a read error.</summary>
internal enum CsvChunkKind
{
    Lines,
    End,
    Sequential,
    Error,
}

/// <summary>Where a chunk slot is in its round: free for the splitter, cut (bytes ready), parsed (rows ready).</summary>
internal enum CsvChunkState
{
    Free,
    Cut,
    Parsed,
}

/// <summary>One slot of <see cref="ParallelCsvFileReader"/>: up to a batch's worth of whole lines of the file (cut by
/// <see cref="CsvChunkSplitter"/>), the rows a worker parsed from them into its own batch, and the records it
/// rejected, kept until the source publishes them in file order. Reused round after round.</summary>
internal sealed class CsvChunk(Schema schema, int capacity) : IDisposable
{
    /// <summary>The chunk's number in file order; -1 while the slot is free.</summary>
    public long Sequence = -1;

    /// <summary>Guarded by the reader's gate.</summary>
    public CsvChunkState State;

    public CsvChunkKind Kind;

    /// <summary>The lines' bytes (whole lines; the last line of the file may lack its line break).</summary>
    public byte[] Bytes = new byte[1 << 16];

    public int Length;

    /// <summary>The file offset of the first byte and the line number of the first line.</summary>
    public long StartByte;

    public long StartLine;

    /// <summary>Lines in the chunk: each is one record (the splitter hands a file with records over several lines to
    /// the sequential reader).</summary>
    public int Lines;

    /// <summary>True when a quote occurs in the chunk (lines without one are split at separators only).</summary>
    public bool HasQuotes;

    /// <summary>The read error of an <see cref="CsvChunkKind.Error"/> chunk.</summary>
    public Exception? Error;

    /// <summary>The parsed rows (offsets in <see cref="ColumnBatch.RowOffsetsBuffer"/>).</summary>
    public ColumnBatch Batch { get; } = new(schema, capacity);

    public int Rows;

    /// <summary>Rows already copied into the source's batches.</summary>
    public int Taken;

    public List<CsvReject> Rejects { get; } = [];

    public int RejectsPublished;

    public long EndLine => StartLine + Lines;

    /// <summary>Makes room for <paramref name="more"/> bytes after <see cref="Length"/>.</summary>
    public void Reserve(int more)
    {
        if (Length + more <= Bytes.Length) return;
        Array.Resize(ref Bytes, Math.Max(Bytes.Length * 2, Length + more));
    }

    public void Dispose() => Batch.Dispose();
}

/// <summary>A record a worker rejected: published as a dead letter when the source reaches its line.</summary>
internal readonly record struct CsvReject(long Line, string Rule, string Message, string Raw);
