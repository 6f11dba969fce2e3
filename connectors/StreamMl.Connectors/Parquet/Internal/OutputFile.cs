using System.Globalization;
using Parquet;
using Parquet.Schema;
using StreamMl.Connectors.Internal;

namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>One Parquet file being written under a temporary name. Rows are buffered column by column and written as
/// a row group when <see cref="ParquetSinkOptions.RowGroupRows"/> is reached; <see cref="Publish"/> writes the
/// footer and renames the file to a name made of the first and last source positions it holds.</summary>
internal sealed class OutputFile
{
    private readonly ColumnBuffer[] _columns;
    private readonly ParquetSchema _schema;
    private readonly ParquetOptions _parquetOptions;
    private readonly ParquetSinkOptions _options;
    private readonly string _folder;
    private FileStream? _stream;
    private ParquetWriter? _writer;
    private string? _tempPath;
    private int _buffered;

    public OutputFile(ColumnBuffer[] columns, ParquetSchema schema, ParquetOptions parquetOptions, ParquetSinkOptions options, string folder)
    {
        _columns = columns;
        _schema = schema;
        _parquetOptions = parquetOptions;
        _options = options;
        _folder = folder;
    }

    public bool IsOpen => _writer is not null;
    public long Rows { get; private set; }
    public long FirstSequence { get; private set; } = -1;
    public DateTime OpenedAt { get; private set; }
    public long Bytes => _stream?.Length ?? 0;
    private (int Partition, long Offset) _first;
    private (int Partition, long Offset) _last;

    /// <summary>Room left in the current row group.</summary>
    public int Room => _options.RowGroupRows - _buffered;

    public void Append(StreamMl.Engine.ColumnBatch batch, ReadOnlySpan<int> rows, bool contiguous, long sequence)
    {
        if (rows.IsEmpty) return;
        if (_writer is null) Open(sequence);
        foreach (var column in _columns) column.Append(batch[column.BatchColumn], rows, contiguous);
        var offsets = batch.RowOffsets;
        var partitions = batch.RowPartitions;
        // Rows of several partitions (a Kafka batch) interleave, so the range is the smallest and largest position.
        var first = (partitions[rows[0]], offsets[rows[0]]);
        var last = first;
        foreach (var row in rows)
        {
            var position = (partitions[row], offsets[row]);
            if (Compare(position, first) < 0) first = position;
            if (Compare(position, last) > 0) last = position;
        }
        if (Rows == 0 || Compare(first, _first) < 0) _first = first;
        if (Rows == 0 || Compare(last, _last) > 0) _last = last;
        _buffered += rows.Length;
        Rows += rows.Length;
        if (_buffered >= _options.RowGroupRows) FlushRowGroup();
    }

    private static int Compare((int Partition, long Offset) a, (int Partition, long Offset) b) =>
        a.Partition != b.Partition ? a.Partition.CompareTo(b.Partition) : a.Offset.CompareTo(b.Offset);

    private void Open(long sequence)
    {
        Directory.CreateDirectory(_folder);
        _tempPath = Path.Combine(_folder, $".{_options.FilePrefix}-{Guid.NewGuid():N}.parquet.tmp");
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = ParquetWriter.CreateAsync(_schema, new SynchronousStream(_stream), _parquetOptions).GetAwaiter().GetResult();
        FirstSequence = sequence;
        OpenedAt = DateTime.UtcNow;
        Rows = 0;
        _buffered = 0;
    }

    public void FlushRowGroup()
    {
        if (_buffered == 0 || _writer is null) return;
        using (var group = _writer.CreateRowGroup())
        {
            foreach (var column in _columns) column.WriteAsync(group).GetAwaiter().GetResult();
            group.CompleteValidate();
        }
        foreach (var column in _columns) column.Clear();
        _buffered = 0;
    }

    /// <summary>Writes the footer, syncs, and renames the file to its final name (replacing a file of the same name,
    /// which a replay of the same source positions produces). Returns the final path, or null when nothing was written.</summary>
    public string? Publish()
    {
        if (_writer is null) return null;
        FlushRowGroup();
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream!.Flush(flushToDisk: true);
        _stream.Dispose();
        var name = string.Create(CultureInfo.InvariantCulture,
            $"{_options.FilePrefix}-{_first.Partition:D4}.{_first.Offset:D12}-{_last.Partition:D4}.{_last.Offset:D12}.parquet");
        var final = Path.Combine(_folder, name);
        DurableFolder.Publish(_tempPath!, final, overwrite: true);
        RemoveReplayedFiles(name);
        _writer = null;
        _stream = null;
        _tempPath = null;
        FirstSequence = -1;
        Rows = 0;
        return final;
    }

    /// <summary>The replay rule: a published file replaces every file of the folder whose source range overlaps its own.
    /// One run never writes overlapping files into a folder (positions only grow), so an overlap means these rows were
    /// written before, by a run that crashed before committing them or by an earlier run over the same input, whose
    /// file boundaries may differ when files roll by time or bytes or publish on flush. Rows of a removed file beyond
    /// this file's range come back in the replay's next files: they were never committed, so the replay reads them
    /// again. The new file is renamed into place first, so a reader may briefly see a row twice but never miss one.</summary>
    /// <remarks>Only files of a single partition take part: the range of a file over several partitions (a consumer-group
    /// member's Kafka partitions) also spans partitions it never read, which another member may be writing into the same
    /// folder, so such files neither replace nor are replaced (a replay then leaves duplicates, never a gap).</remarks>
    private void RemoveReplayedFiles(string published)
    {
        if (_first.Partition != _last.Partition) return;
        foreach (var path in Directory.EnumerateFiles(_folder, _options.FilePrefix + "-*.parquet"))
        {
            var name = Path.GetFileName(path);
            if (name == published || !TryParseRange(name, _options.FilePrefix, out var first, out var last)) continue;
            if (first.Partition != last.Partition || first.Partition != _first.Partition) continue;
            if (first.Offset <= _last.Offset && _first.Offset <= last.Offset) File.Delete(path);
        }
    }

    /// <summary>Reads the source range from a name made by <see cref="Publish"/>: <c>prefix-PPPP.OOOOOOOOOOOO-PPPP.OOOOOOOOOOOO.parquet</c>.</summary>
    internal static bool TryParseRange(string name, string prefix, out (int Partition, long Offset) first, out (int Partition, long Offset) last)
    {
        first = last = default;
        if (!name.StartsWith(prefix + "-", StringComparison.Ordinal) || !name.EndsWith(".parquet", StringComparison.Ordinal)) return false;
        var parts = name[(prefix.Length + 1)..^".parquet".Length].Split('-');
        return parts.Length == 2 && TryParsePosition(parts[0], out first) && TryParsePosition(parts[1], out last);
    }

    private static bool TryParsePosition(string text, out (int Partition, long Offset) position)
    {
        position = default;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !int.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            || !long.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return false;
        position = (partition, offset);
        return true;
    }

    /// <summary>Returns the column buffers to the pool (after the file was published or abandoned).</summary>
    public void Release()
    {
        foreach (var column in _columns) column.Release();
    }

    /// <summary>Drops an unpublished file (after a failure): the temporary name never becomes visible.</summary>
    public void Abandon()
    {
        if (_writer is null) return;
        try
        {
            _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            // The file is deleted below either way.
        }
        _stream?.Dispose();
        if (_tempPath is not null) File.Delete(_tempPath);
        foreach (var column in _columns) column.Clear();
        _writer = null;
        _stream = null;
        _buffered = 0;
        FirstSequence = -1;
    }
}
