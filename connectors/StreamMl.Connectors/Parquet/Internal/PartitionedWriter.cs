using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using StreamMl.Engine;

namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>Routes rows to one <see cref="OutputFile"/> per Hive partition, rolls files by rows, bytes and age, and
/// tracks which batch sequences are durable (every row of them is in a published file).</summary>
internal sealed class PartitionedWriter
{
    private readonly ParquetSinkOptions _options;
    private readonly ParquetOptions _parquetOptions;
    private readonly Schema _schema;
    private readonly (StreamMl.Engine.Field Field, int BatchColumn)[] _written;
    private readonly ParquetSchema _parquetSchema;
    private readonly DataField[] _dataFields;
    private readonly Dictionary<string, OutputFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _rowsByKey = new(StringComparer.Ordinal);
    private readonly int _partitionColumn = -1;
    private readonly int _dateColumn = -1;
    private readonly string? _runId;
    private int[] _rows = new int[ColumnBatch.DefaultCapacity];
    private long _lastSequence = -1;
    private readonly PublishedRows? _shared;

    /// <param name="options">Where and how to write.</param>
    /// <param name="schema">The pipeline's batches.</param>
    /// <param name="stablePositions">True when the source's positions name the same records in every run
    /// (<see cref="IBatchSource.PositionsAreStable"/>): files are named by position and rows already in the folder are
    /// skipped. False: this run's files get names of their own and nothing is skipped.</param>
    /// <param name="shared">With stable positions, where a row's folder is not a function of the row alone: the rows
    /// published in every folder it could go to (a row is skipped when any holds it). Null: each folder skips what it holds.</param>
    public PartitionedWriter(ParquetSinkOptions options, Schema schema, bool stablePositions = true, PublishedRows? shared = null)
    {
        _shared = shared;
        if (string.IsNullOrWhiteSpace(options.Directory)) throw new PipelineException("ParquetSinkOptions.Directory is required");
        if (options.RowGroupRows < 1) throw new PipelineException($"RowGroupRows must be positive, got {options.RowGroupRows}");
        _options = options;
        _schema = schema;
        var names = options.Columns.Count > 0 ? options.Columns : schema.Select(f => f.Name).ToList();
        _written = [.. names.Where(n => !options.ExcludeColumns.Contains(n)).Select(n => (schema[schema.Require(n)], schema.IndexOf(n)))];
        if (options.PartitionBy is { } by)
        {
            _partitionColumn = schema.Require(by);
            // The partition value lives in the folder name, as Hive readers (DuckDB, Spark) expect.
            _written = [.. _written.Where(w => w.Field.Name != by)];
        }
        if (options.PartitionByEventDate && options.PartitionDateColumn is { } dateColumn)
            _dateColumn = schema.Require(dateColumn, ColumnType.Timestamp);
        _runId = stablePositions ? null
            : string.Create(CultureInfo.InvariantCulture, $"run{DateTime.UtcNow:yyyyMMdd'T'HHmmss}{Guid.NewGuid().ToString("N")[..8]}");
        // Leftovers of killed or failed runs; partition folders are cleaned when first written, and here when they exist.
        OutputFile.RemoveAbandonedTemporaries(options.Directory, options.FilePrefix);
        if (_partitionColumn >= 0 || options.PartitionByEventDate)
            foreach (var folder in Directory.Exists(options.Directory) ? Directory.EnumerateDirectories(options.Directory, "*=*") : [])
                OutputFile.RemoveAbandonedTemporaries(folder, options.FilePrefix);
        _dataFields = [.. _written.Select(w => ColumnBuffer.CreateField(w.Field))];
        _parquetSchema = new ParquetSchema(_dataFields);
        _parquetOptions = new ParquetOptions
        {
            CompressionMethod = options.Compression switch
            {
                ParquetCompression.None => CompressionMethod.None,
                ParquetCompression.Zstd => CompressionMethod.Zstd,
                ParquetCompression.Gzip => CompressionMethod.Gzip,
                ParquetCompression.Lz4 => CompressionMethod.Lz4Raw,
                _ => CompressionMethod.Snappy,
            },
            CompressionLevel = System.IO.Compression.CompressionLevel.Fastest,
        };
        // Integer columns as DELTA_BINARY_PACKED (Parquet 2 encoding, read by DuckDB, Arrow, Spark): on the credit file's
        // 25 long columns it shrinks the data 5x before the codec sees it, so encoding plus compression took less than
        // half the time of plain encoding (docs/BENCHMARKS.md, Files section).
        foreach (var (field, dataField) in _written.Select((w, i) => (w.Field, _dataFields[i])))
            if (field.Type is ColumnType.Int32 or ColumnType.Int64)
                _parquetOptions.ColumnEncodingHints[dataField.Path.ToString()] = EncodingHint.DeltaBinaryPacked;
    }

    /// <summary>Columns written, in file order.</summary>
    public IEnumerable<string> WrittenColumns => _written.Select(w => w.Field.Name);

    /// <summary>Final paths of the files published so far.</summary>
    public List<string> Published { get; } = [];

    public long RowsWritten { get; private set; }

    /// <summary>Rows not written because their source position was already in a file of their folder (a restart
    /// resuming before the end of what an earlier run published).</summary>
    public long RowsAlreadyWritten { get; private set; }

    /// <summary>Highest sequence whose rows are all in published files, or -1.</summary>
    public long DurableSequence
    {
        get
        {
            var oldestOpen = long.MaxValue;
            foreach (var file in _files.Values)
                if (file.IsOpen && file.FirstSequence >= 0) oldestOpen = Math.Min(oldestOpen, file.FirstSequence);
            return oldestOpen == long.MaxValue ? _lastSequence : oldestOpen - 1;
        }
    }

    /// <summary>Writes rows of <paramref name="batch"/>: those whose byte in <paramref name="mask"/> is 1, or every
    /// selected row when the mask is empty.</summary>
    public void Write(ColumnBatch batch, long sequence, ReadOnlySpan<byte> mask = default)
    {
        WriteRows(batch, sequence, mask);
        // Only once every row is in a file: a batch whose write failed must never count as durable.
        _lastSequence = sequence;
    }

    private void WriteRows(ColumnBatch batch, long sequence, ReadOnlySpan<byte> mask)
    {
        if (_rows.Length < batch.Length) _rows = new int[batch.Capacity];
        var count = 0;
        var selection = batch.Selection;
        var all = selection.AllSelected && mask.IsEmpty;
        for (var row = 0; row < batch.Length; row++)
            if ((all || selection.IsSelected(row)) && (mask.IsEmpty || mask[row] != 0)) _rows[count++] = row;
        if (count == 0) return;
        if (_partitionColumn < 0 && !_options.PartitionByEventDate)
        {
            var file = FileFor("");
            var kept = file.KeepNew(batch, _rows.AsSpan(0, count));
            RowsAlreadyWritten += count - kept;
            RowsWritten += kept;
            // A replay skips a prefix of a batch: what is left may still be one block.
            var contiguous = all && (kept == count || (kept > 0 && _rows[kept - 1] - _rows[0] == kept - 1));
            AppendTo(file, batch, _rows.AsSpan(0, kept), contiguous, sequence);
            return;
        }
        foreach (var list in _rowsByKey.Values) list.Clear();
        for (var i = 0; i < count; i++)
        {
            var key = PartitionKey(batch, _rows[i]);
            if (!_rowsByKey.TryGetValue(key, out var list)) _rowsByKey[key] = list = new List<int>(batch.Capacity);
            list.Add(_rows[i]);
        }
        foreach (var (key, list) in _rowsByKey)
        {
            if (list.Count == 0) continue;
            var file = FileFor(key);
            var rows = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list);
            var kept = file.KeepNew(batch, rows);
            RowsAlreadyWritten += rows.Length - kept;
            RowsWritten += kept;
            AppendTo(file, batch, rows[..kept], contiguous: false, sequence);
        }
    }

    private OutputFile FileFor(string key)
    {
        if (!_files.TryGetValue(key, out var file))
        {
            var columns = _written.Select((w, i) => ColumnBuffer.Create(w.Field.Type, _dataFields[i], w.BatchColumn, _options.RowGroupRows)).ToArray();
            var folder = key.Length == 0 ? _options.Directory : Path.Combine(_options.Directory, key);
            _files[key] = file = new OutputFile(columns, _parquetSchema, _parquetOptions, _options, folder, _runId, _shared);
        }
        return file;
    }

    private void AppendTo(OutputFile file, ColumnBatch batch, ReadOnlySpan<int> rows, bool contiguous, long sequence)
    {
        while (!rows.IsEmpty)
        {
            if (file.IsOpen && _options.RollInterval > TimeSpan.Zero && DateTime.UtcNow - file.OpenedAt >= _options.RollInterval) Publish(file);
            var take = Math.Min(rows.Length, file.Room);
            if (_options.RollRows > 0) take = (int)Math.Min(take, _options.RollRows - file.Rows);
            if (take <= 0)
            {
                Publish(file);
                continue;
            }
            file.Append(batch, rows[..take], contiguous, sequence);
            rows = rows[take..];
            if ((_options.RollRows > 0 && file.Rows >= _options.RollRows) || (_options.RollBytes > 0 && file.Room == _options.RowGroupRows && file.Bytes >= _options.RollBytes))
                Publish(file);
        }
    }

    private void Publish(OutputFile file)
    {
        if (file.Publish() is { } path) Published.Add(path);
    }

    /// <summary>Publishes the files older than <see cref="ParquetSinkOptions.RollInterval"/>.</summary>
    public void PublishExpired()
    {
        if (_options.RollInterval <= TimeSpan.Zero) return;
        foreach (var file in _files.Values)
            if (file.IsOpen && DateTime.UtcNow - file.OpenedAt >= _options.RollInterval) Publish(file);
    }

    /// <summary>Publishes every open file.</summary>
    public void PublishAll()
    {
        foreach (var file in _files.Values) Publish(file);
    }

    public void Abandon()
    {
        foreach (var file in _files.Values) file.Abandon();
    }

    /// <summary>Returns every file's buffers to the pool; call once every file is published or abandoned.</summary>
    public void Release()
    {
        foreach (var file in _files.Values) file.Release();
    }

    private string PartitionKey(ColumnBatch batch, int row)
    {
        if (_options.PartitionByEventDate)
        {
            long micros;
            if (_dateColumn >= 0)
            {
                var column = batch[_dateColumn];
                if (!column.IsValid(row)) return "date=__HIVE_DEFAULT_PARTITION__";
                micros = column.Values<long>()[row];
            }
            else
            {
                micros = batch.EventTimes[row];
            }
            var date = DateTime.UnixEpoch.AddTicks(micros * 10);
            return "date=" + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        var partition = batch[_partitionColumn];
        var name = partition.Field.Name;
        if (!partition.IsValid(row)) return name + "=__HIVE_DEFAULT_PARTITION__";
        var value = partition.Type switch
        {
            ColumnType.String => partition.Dictionary![partition.Values<int>()[row]],
            ColumnType.Int32 => partition.Values<int>()[row].ToString(CultureInfo.InvariantCulture),
            ColumnType.Int64 => partition.Values<long>()[row].ToString(CultureInfo.InvariantCulture),
            ColumnType.Bool => partition.Values<byte>()[row] != 0 ? "true" : "false",
            ColumnType.Float32 => partition.Values<float>()[row].ToString("R", CultureInfo.InvariantCulture),
            ColumnType.Float64 => partition.Values<double>()[row].ToString("R", CultureInfo.InvariantCulture),
            ColumnType.Timestamp => DateTime.UnixEpoch.AddTicks(partition.Values<long>()[row] * 10).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            _ => "?",
        };
        return name + "=" + Escape(value);
    }

    /// <summary>Hive escaping: characters that break paths or the key=value syntax become %XX.</summary>
    internal static string Escape(string value)
    {
        if (value.AsSpan().IndexOfAny("/\\=%:*?\"#\n\r\t") < 0 && value.Length > 0 && value != "." && value != "..") return value;
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if ("/\\=%:*?\"#\n\r\t".Contains(c) || c < ' ') text.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else text.Append(c);
        }
        return text.Length == 0 || value is "." or ".." ? "%2E" + text : text.ToString();
    }
}
