using StreamMl.Connectors.Parquet.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Parquet;

/// <summary>Writes the selected rows of batches to Parquet files, column by column from the batch buffers (no
/// per-row objects): row groups of <see cref="ParquetSinkOptions.RowGroupRows"/>, snappy or zstd, files rolled by rows,
/// bytes or age, optional Hive partition folders. Each file is written under a hidden temporary name and renamed once
/// complete, to a name made of the first and last source positions it holds (<c>part-0000.000000000002-0000.000000004097.parquet</c>),
/// so a reader never sees a half-written file and a replay of the same input overwrites instead of duplicating.
/// Batches become durable when the files holding their rows are published: when a file rolls, at the end (dispose),
/// and at each pipeline flush with <see cref="ParquetSinkOptions.PublishOnFlush"/>.</summary>
public sealed class ParquetSink : IBatchSink
{
    private readonly ParquetSinkOptions _options;
    private PartitionedWriter? _writer;
    private SinkContext? _context;
    private long _markedDurable = -1;

    /// <summary>Creates a sink; nothing is written until the pipeline opens it.</summary>
    public ParquetSink(ParquetSinkOptions options) => _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <summary>False: rows are durable once their file is published, not when written.</summary>
    public bool DurableOnWrite => false;

    /// <summary>Paths of the files published so far.</summary>
    public IReadOnlyList<string> PublishedFiles => _writer?.Published ?? [];

    /// <summary>Rows written so far.</summary>
    public long RowsWritten => _writer?.RowsWritten ?? 0;

    /// <summary>The columns written, in file order (known once opened).</summary>
    public IEnumerable<string> WrittenColumns => _writer?.WrittenColumns ?? [];

    /// <inheritdoc/>
    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        _writer = new PartitionedWriter(_options, context.Schema);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void Write(ColumnBatch batch, long sequence)
    {
        var writer = _writer ?? throw new PipelineException($"sink '{Name}' was not opened");
        writer.Write(batch, sequence);
        ReportDurable();
    }

    /// <summary>Periodic flush: publishes files past their <see cref="ParquetSinkOptions.RollInterval"/>, or every open
    /// file with <see cref="ParquetSinkOptions.PublishOnFlush"/>. Disposing publishes the rest.</summary>
    public void Flush()
    {
        if (_writer is null) return;
        if (_options.PublishOnFlush) _writer.PublishAll();
        else _writer.PublishExpired();
        ReportDurable();
    }

    private void ReportDurable()
    {
        var durable = _writer!.DurableSequence;
        if (durable > _markedDurable)
        {
            _markedDurable = durable;
            _context?.MarkDurable(durable);
        }
    }

    /// <summary>Publishes every file still open, making every written batch durable.</summary>
    public ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            _writer.PublishAll();
            ReportDurable();
            _writer.Release();
        }
        return ValueTask.CompletedTask;
    }
}
