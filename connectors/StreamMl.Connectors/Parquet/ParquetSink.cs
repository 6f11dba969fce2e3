using StreamMl.Connectors.Parquet.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Parquet;

/// <summary>Writes the selected rows of batches to Parquet files, column by column from the batch buffers (no
/// per-row objects): row groups of <see cref="ParquetSinkOptions.RowGroupRows"/>, snappy or zstd, files rolled by rows,
/// bytes or age, optional Hive partition folders. Each file is written under a hidden temporary name and renamed once
/// complete, so a reader never sees a half-written file, and a published file is never deleted or replaced. With a
/// source whose positions are stable (<see cref="IBatchSource.PositionsAreStable"/>: files, Kafka, PostgreSQL) a file is
/// named by the first and last source positions it holds (<c>part-0000.000000000002-0000.000000004097.parquet</c>) and
/// rows whose position is already in a file of their folder are skipped, so a restart that re-reads rows published
/// after its last commit keeps them once. Other sources (MQTT, HTTP) get names of their own per run
/// (<c>part-run20260101T120000ab12cd34-000001.parquet</c>), so a second run never touches the first one's output.
/// Batches become durable when the files holding their rows are published: when a file rolls (rows, bytes, age — age
/// also at the pipeline's periodic flush), at the end (dispose), and at each flush with
/// <see cref="ParquetSinkOptions.PublishOnFlush"/>.</summary>
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

    /// <summary>The options the sink was created with.</summary>
    public ParquetSinkOptions Options => _options;

    /// <summary>False: rows are durable once their file is published, not when written.</summary>
    public bool DurableOnWrite => false;

    /// <summary>Paths of the files published so far.</summary>
    public IReadOnlyList<string> PublishedFiles => _writer?.Published ?? [];

    /// <summary>Rows written so far.</summary>
    public long RowsWritten => _writer?.RowsWritten ?? 0;

    /// <summary>Rows not written because their source position was already in a published file of their folder: a
    /// restart re-reading what an earlier run published after its last commit.</summary>
    public long RowsAlreadyWritten => _writer?.RowsAlreadyWritten ?? 0;

    /// <summary>The columns written, in file order (known once opened).</summary>
    public IEnumerable<string> WrittenColumns => _writer?.WrittenColumns ?? [];

    /// <inheritdoc/>
    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        // Standalone (no source): the caller sets the positions, and they are taken as stable.
        _writer = new PartitionedWriter(_options, context.Schema, context.Source?.PositionsAreStable ?? true);
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
