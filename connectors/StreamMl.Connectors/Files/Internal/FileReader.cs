using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>State shared by the readers of one source: its schema, null tokens, dead-letter sink and counters.</summary>
internal sealed class ReaderContext(FileSourceOptions options, Schema schema)
{
    private Schema? _boundSchema;
    private int[] _targets = [];

    public FileSourceOptions Options { get; } = options;
    public Schema Schema { get; } = schema;
    public NullTokens Nulls { get; } = new(options.NullTokens, options.Trim);
    public SchemaChangeLog SchemaChanges { get; } = new(options);
    public IDeadLetterSink DeadLetters { get; set; } = new CollectingDeadLetterSink();
    public string PipelineName { get; set; } = "pipeline";
    public int EventTimeField { get; } = options.EventTimeColumn is { } name ? schema.Require(name, ColumnType.Timestamp) : -1;

    /// <summary>Records seen: rows produced plus records dead-lettered (a file that fails counts as one record).</summary>
    public long RecordsRead;
    public long RowsProduced;
    public long RecordsRejected;
    public long BytesRead;

    /// <summary>Chunks of CSV parsed by worker threads and handed on (<see cref="ParallelCsvFileReader"/>), and the
    /// times such a file was handed to the sequential reader part way.</summary>
    public long ParallelChunks;
    public long SequentialHandovers;

    /// <summary>Bytes the splitter and the workers allocated while cutting and parsing chunks (their buffers grow to
    /// the chunks' size, then nothing): the allocation tests read it.</summary>
    public long WorkerAllocatedBytes;

    /// <summary>The byte buffer of the last <see cref="ByteCsvFileReader"/> closed, taken by the next one, so that a
    /// source reading many files does not allocate one per file.</summary>
    public byte[]? CsvBytes;

    /// <summary>Batch column index of each source field, cached per batch schema (the batch may hold more columns).</summary>
    public int[] Targets(ColumnBatch batch)
    {
        if (!ReferenceEquals(batch.Schema, _boundSchema))
        {
            _targets = [.. Schema.Select(f => batch.Schema.Require(f.Name, f.Type))];
            _boundSchema = batch.Schema;
        }
        return _targets;
    }

    public void Reject(string rule, string message, string path, string unit, int partition, long offset, string raw)
    {
        RecordsRead++;
        RecordsRejected++;
        var location = $"{path} {unit} {offset}";
        DeadLetters.Write(new DeadLetter(PipelineName, Options.Name, rule, $"{location}: {message}", location, partition, offset,
            raw.Length > 4096 ? raw[..4096] + "..." : raw));
    }

    /// <summary>Stamps the bookkeeping of a filled row: offset, partition, event time, committed range.</summary>
    public void Accept(ColumnBatch batch, int row, int partition, long offset, long next, long ingestMicros)
    {
        RecordsRead++;
        RowsProduced++;
        batch.RowOffsetsBuffer[row] = offset;
        batch.RowPartitionsBuffer[row] = partition;
        var eventTime = ingestMicros;
        if (EventTimeField >= 0)
        {
            var column = batch[_targets[EventTimeField]];
            if (column.IsValid(row)) eventTime = column.Values<long>()[row];
        }
        batch.EventTimesBuffer[row] = eventTime;
        batch.Positions.Add(partition, offset, next);
    }
}

/// <summary>The part of a text file a reader reads: from byte <paramref name="Start"/> (where line <paramref name="Line"/>
/// begins) up to byte <paramref name="Limit"/>. A followed file is read in such pieces, each ending after a line break.</summary>
/// <param name="Start">First byte; a CSV reader reads the header from the start of the file separately.</param>
/// <param name="Line">The line number at <paramref name="Start"/> (1 at the start of the file).</param>
/// <param name="Limit">The byte after the last one to read; <see cref="long.MaxValue"/> for the end of the file.</param>
internal readonly record struct ReadRange(long Start, long Line, long Limit)
{
    /// <summary>The whole file.</summary>
    public static ReadRange Whole => new(0, 1, long.MaxValue);
}

/// <summary>Reads one file into batches.</summary>
internal abstract class FileReader(string path, int partition, ReaderContext context) : IDisposable
{
    public string Path { get; } = path;
    public int Partition { get; } = partition;
    protected ReaderContext Context { get; } = context;

    /// <summary>"line" or "row": what an offset counts in this format.</summary>
    public abstract string OffsetUnit { get; }

    /// <summary>Records at offsets below this were made durable by an earlier run (see
    /// <see cref="FileSourceOptions.CheckpointPath"/>): they are passed over without being parsed, counted or
    /// dead-lettered again. Default 0.</summary>
    public long SkipBefore { get; set; }

    /// <summary>True once every record was read.</summary>
    public bool Exhausted { get; protected set; }

    /// <summary>Rows of the current batch filled so far, kept up to date by <see cref="Fill"/> so that the rows read
    /// before an I/O error in the middle of a fill are kept.</summary>
    public int Filled { get; protected set; }

    /// <summary>Fills rows from <paramref name="row"/> on; returns the batch's new row count.</summary>
    public abstract int Fill(ColumnBatch batch, int row, long ingestMicros);

    /// <summary>The offset to report when the file fails as a whole (the last position reached).</summary>
    public abstract long CurrentOffset { get; }

    /// <summary>The line after the last one read (for a followed file: where the next piece starts). Row readers
    /// (Parquet) leave it at 0.</summary>
    public long NextLine { get; protected set; }

    public virtual void Dispose() { }
}
