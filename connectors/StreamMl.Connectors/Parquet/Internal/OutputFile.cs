using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using StreamMl.Connectors.Internal;

namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>The files of one output folder, written one at a time under a temporary name. Rows are buffered column by
/// column and written as a row group when <see cref="ParquetSinkOptions.RowGroupRows"/> is reached; <see cref="Publish"/>
/// writes the footer and renames the file to its final name.</summary>
/// <remarks>The replay rule (docs/files.md): a published file is never deleted or replaced. With a source whose positions
/// are stable (<see cref="StreamMl.Engine.IBatchSource.PositionsAreStable"/>) the folder remembers, per source partition,
/// the highest position in the files an earlier run published there, and rows at or below it are skipped as already
/// written: a restart resumes at its last committed position, which may lie before rows that
/// were published but not yet committed (a file rolled in the middle of a batch, a second sink lagging, a kill between
/// the rename and the commit), and those rows are kept once, whatever the roll mode. A source whose positions restart
/// with each run gets file names of its own per run instead, so an earlier run's output is never touched.</remarks>
internal sealed class OutputFile
{
    /// <summary>Footer key listing the positions a file holds per source partition: <c>partition:first-last,...</c>.</summary>
    internal const string PositionsKey = "streamml.positions";

    private readonly ColumnBuffer[] _columns;
    private readonly ParquetSchema _schema;
    private readonly ParquetOptions _parquetOptions;
    private readonly ParquetSinkOptions _options;
    private readonly string _folder;
    private readonly string? _runId;
    private readonly PartitionSpans _spans = new();
    // Highest position per source partition in the files this folder held when this run first wrote to it (stable
    // positions only). Only earlier runs' files count: within a run a position is not assumed unique (a source may
    // leave offsets unset), and a partition a Kafka rebalance hands back is re-read from its commit as before.
    private readonly Dictionary<int, long> _highest = [];
    // Set where a row's folder is not a function of the row (a stratified split): rows are skipped when any of the
    // folders sharing it holds them, and each file records the exact positions it holds (PublishedRows.RowsKey).
    private readonly PublishedRows? _shared;
    private FileStream? _stream;
    private ParquetWriter? _writer;
    private string? _tempPath;
    private int _buffered;
    private int _runFiles;

    /// <param name="columns">Column buffers, one per written column.</param>
    /// <param name="schema">The files' Parquet schema.</param>
    /// <param name="parquetOptions">Codec and encodings.</param>
    /// <param name="options">The sink's options.</param>
    /// <param name="folder">The output folder (a Hive partition folder or the sink's).</param>
    /// <param name="runId">Null for a source with stable positions (files named by position, rows already in the folder
    /// skipped); otherwise this run's name part (files named <c>prefix-runId-000001.parquet</c>, nothing skipped).</param>
    /// <param name="shared">With stable positions: the rows published in every folder a row could go to, when that is
    /// not only this one; null to skip by this folder's highest position per partition.</param>
    public OutputFile(ColumnBuffer[] columns, ParquetSchema schema, ParquetOptions parquetOptions, ParquetSinkOptions options, string folder, string? runId, PublishedRows? shared = null)
    {
        _shared = runId is null ? shared : null;
        _spans.RecordRows = _shared is not null;
        _columns = columns;
        _schema = schema;
        _parquetOptions = parquetOptions;
        _options = options;
        _folder = folder;
        _runId = runId;
        Directory.CreateDirectory(folder);
        RemoveAbandonedTemporaries(folder, options.FilePrefix);
        if (runId is null && _shared is null) ReadPublishedPositions();
    }

    public bool IsOpen => _writer is not null;
    public long Rows { get; private set; }
    public long FirstSequence { get; private set; } = -1;
    public DateTime OpenedAt { get; private set; }
    public long Bytes => _stream?.Length ?? 0;

    /// <summary>Room left in the current row group.</summary>
    public int Room => _options.RowGroupRows - _buffered;

    /// <summary>Removes from <paramref name="rows"/> the rows whose position is already in a file of this folder and
    /// returns how many are left (in order, at the front of the span).</summary>
    public int KeepNew(StreamMl.Engine.ColumnBatch batch, Span<int> rows)
    {
        if (_shared is not null) return KeepNotShared(batch, rows, _shared);
        if (_highest.Count == 0) return rows.Length;
        // Per batch range first: past the replayed stretch no row needs a look (a batch without ranges is checked row by row).
        var any = batch.Positions.Count == 0;
        foreach (var range in batch.Positions.Ranges)
            if (_highest.TryGetValue(range.Partition, out var highest) && range.Start <= highest) any = true;
        if (!any) return rows.Length;
        var offsets = batch.RowOffsets;
        var partitions = batch.RowPartitions;
        var kept = 0;
        foreach (var row in rows)
            if (!_highest.TryGetValue(partitions[row], out var highest) || offsets[row] > highest) rows[kept++] = row;
        return kept;
    }

    private static int KeepNotShared(StreamMl.Engine.ColumnBatch batch, Span<int> rows, PublishedRows shared)
    {
        var any = batch.Positions.Count == 0;
        foreach (var range in batch.Positions.Ranges)
            if (shared.MayHoldFrom(range.Partition, range.Start)) any = true;
        if (!any) return rows.Length;
        var offsets = batch.RowOffsets;
        var partitions = batch.RowPartitions;
        var kept = 0;
        foreach (var row in rows)
            if (!shared.Contains(partitions[row], offsets[row])) rows[kept++] = row;
        return kept;
    }

    public void Append(StreamMl.Engine.ColumnBatch batch, ReadOnlySpan<int> rows, bool contiguous, long sequence)
    {
        if (rows.IsEmpty) return;
        if (_writer is null) Open(sequence);
        foreach (var column in _columns) column.Append(batch[column.BatchColumn], rows, contiguous);
        var offsets = batch.RowOffsets;
        var partitions = batch.RowPartitions;
        // Rows of several partitions (a Kafka batch) interleave: each partition's range is kept apart.
        foreach (var row in rows) _spans.Include(partitions[row], offsets[row]);
        _buffered += rows.Length;
        Rows += rows.Length;
        if (_buffered >= _options.RowGroupRows) FlushRowGroup();
    }

    private void Open(long sequence)
    {
        Directory.CreateDirectory(_folder);
        _tempPath = Path.Combine(_folder, $".{_options.FilePrefix}-{Guid.NewGuid():N}.parquet.tmp");
        // FileShare.None takes an exclusive lock (flock on Linux) for the file's life: a sink starting on the same folder
        // sees the file in use and leaves it alone, while a killed writer's file is unlocked and removed.
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = ParquetWriter.CreateAsync(_schema, new SynchronousStream(_stream), _parquetOptions).GetAwaiter().GetResult();
        FirstSequence = sequence;
        OpenedAt = DateTime.UtcNow;
        Rows = 0;
        _buffered = 0;
        _spans.Clear();
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

    /// <summary>Writes the footer (with the positions held per partition), syncs, and renames the file to its final
    /// name. Never replaces a published file. Returns the final path, or null when nothing was written.</summary>
    public string? Publish()
    {
        if (_writer is null) return null;
        FlushRowGroup();
        _writer.CustomMetadata = _spans.RecordRows
            ? new Dictionary<string, string> { [PositionsKey] = _spans.Format(), [PublishedRows.RowsKey] = _spans.FormatRows() }
            : new Dictionary<string, string> { [PositionsKey] = _spans.Format() };
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream!.Flush(flushToDisk: true);
        _stream.Dispose();
        var final = Path.Combine(_folder, NextName());
        // Only a file over several partitions written by an older version (no footer positions) can hold this name.
        if (File.Exists(final)) final = final[..^".parquet".Length] + $"~{Guid.NewGuid():N}.parquet";
        DurableFolder.Publish(_tempPath!, final, overwrite: false);
        _writer = null;
        _stream = null;
        _tempPath = null;
        FirstSequence = -1;
        Rows = 0;
        return final;
    }

    private string NextName()
    {
        if (_runId is not null) return string.Create(CultureInfo.InvariantCulture, $"{_options.FilePrefix}-{_runId}-{++_runFiles:D6}.parquet");
        var (first, last) = _spans.Bounds();
        return string.Create(CultureInfo.InvariantCulture,
            $"{_options.FilePrefix}-{first.Partition:D4}.{first.Offset:D12}-{last.Partition:D4}.{last.Offset:D12}.parquet");
    }

    /// <summary>Learns the highest position per partition of the files already in the folder: from the name of a file of
    /// one partition, from the footer of a file over several (a Kafka consumer's partitions). A file over several
    /// partitions without the footer entry (written by an older version) is passed over: its rows may then be written
    /// again (a duplicate, never a gap).</summary>
    private void ReadPublishedPositions()
    {
        foreach (var path in Directory.EnumerateFiles(_folder, _options.FilePrefix + "-*.parquet"))
        {
            if (!TryParseRange(Path.GetFileName(path), _options.FilePrefix, out var first, out var last)) continue;
            if (first.Partition == last.Partition)
            {
                Raise(first.Partition, last.Offset);
                continue;
            }
            foreach (var (partition, highest) in ReadFooterPositions(path)) Raise(partition, highest);
        }
    }

    private void Raise(int partition, long offset)
    {
        if (!_highest.TryGetValue(partition, out var highest) || offset > highest) _highest[partition] = offset;
    }

    private static List<(int Partition, long Last)> ReadFooterPositions(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            try
            {
                return reader.CustomMetadata.TryGetValue(PositionsKey, out var text) ? PartitionSpans.Parse(text) : [];
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return []; // not a readable Parquet file: it holds no rows this sink could skip
        }
    }

    /// <summary>Deletes the hidden temporary files of this sink's prefix that no live writer holds: those left by a
    /// killed or failed run (a full disk stays full otherwise). A file another process is writing is locked and kept.</summary>
    public static void RemoveAbandonedTemporaries(string folder, string prefix)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var path in Directory.EnumerateFiles(folder, $".{prefix}-*.parquet.tmp"))
        {
            try
            {
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(path);
            }
            catch (IOException)
            {
                // In use by a live writer (or already gone).
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours to remove.
            }
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

    /// <summary>First and last position per source partition of the open file. A linear list: a file holds rows of one
    /// partition (a file, a Kafka partition) or of a consumer's few; the last partition looked up is tried first.</summary>
    private sealed class PartitionSpans
    {
        public int[] Partitions = new int[4];
        public long[] Firsts = new long[4];
        public long[] Lasts = new long[4];
        public int Count;
        private int _recent;
        // With RecordRows, every position held per slot (kept across files: no allocation in steady state).
        private readonly List<PositionList> _rows = [];

        /// <summary>Whether the exact positions are kept for <see cref="FormatRows"/>.</summary>
        public bool RecordRows { get; set; }

        public void Clear()
        {
            for (var i = 0; i < Count && i < _rows.Count; i++) _rows[i].Clear();
            Count = _recent = 0;
        }

        public string FormatRows()
        {
            var text = new StringBuilder();
            for (var i = 0; i < Count; i++) PublishedRows.Format(text, Partitions[i], _rows[i]);
            return text.ToString();
        }

        public void Include(int partition, long offset)
        {
            var i = _recent < Count && Partitions[_recent] == partition ? _recent : Find(partition);
            if (i < 0)
            {
                if (Count == Partitions.Length)
                {
                    Array.Resize(ref Partitions, Count * 2);
                    Array.Resize(ref Firsts, Count * 2);
                    Array.Resize(ref Lasts, Count * 2);
                }
                i = Count++;
                Partitions[i] = partition;
                Firsts[i] = Lasts[i] = offset;
            }
            else if (offset < Firsts[i]) Firsts[i] = offset;
            else if (offset > Lasts[i]) Lasts[i] = offset;
            _recent = i;
            if (RecordRows)
            {
                while (_rows.Count <= i) _rows.Add(new PositionList());
                _rows[i].Add(offset);
            }
        }

        private int Find(int partition)
        {
            for (var i = 0; i < Count; i++)
                if (Partitions[i] == partition) return i;
            return -1;
        }

        /// <summary>Smallest and largest (partition, offset), the range a file's name shows.</summary>
        public ((int Partition, long Offset) First, (int Partition, long Offset) Last) Bounds()
        {
            int low = 0, high = 0;
            for (var i = 1; i < Count; i++)
            {
                if (Partitions[i] < Partitions[low]) low = i;
                if (Partitions[i] > Partitions[high]) high = i;
            }
            return ((Partitions[low], Firsts[low]), (Partitions[high], Lasts[high]));
        }

        public string Format()
        {
            var text = new StringBuilder();
            for (var i = 0; i < Count; i++)
                text.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $"{Partitions[i]}:{Firsts[i]}-{Lasts[i]}");
            return text.ToString();
        }

        public static List<(int Partition, long Last)> Parse(string text)
        {
            var result = new List<(int, long)>();
            foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var colon = entry.IndexOf(':', StringComparison.Ordinal);
                var dash = entry.IndexOf('-', colon + 1);
                if (colon > 0 && dash > colon
                    && int.TryParse(entry.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                    && long.TryParse(entry.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
                    result.Add((partition, last));
            }
            return result;
        }
    }
}
