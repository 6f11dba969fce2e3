using Parquet;
using Parquet.Schema;
using StreamMl.Engine;

namespace StreamMl.Connectors.DeadLetters;

/// <summary>Collects dead letters into a Parquet file with columns <c>pipeline, stage, rule, message, location,
/// partition, offset, raw</c>, a row group every <c>rowGroupRows</c> letters. The file is written under a temporary
/// name and renamed to <see cref="Path"/> on dispose, so a reader never sees it half written. Thread-safe.
/// <see cref="Flush"/> writes the pending letters as a row group and forces the temporary file to disk; the Parquet footer
/// only comes at dispose, so after a crash the letters are on disk but need the footer-less file recovered. Use the
/// <see cref="JsonLinesDeadLetterSink"/> where every flushed letter must be readable after a crash.</summary>
public sealed class ParquetDeadLetterSink : IDeadLetterSink, IDisposable
{
    private static readonly DataField<string> s_pipeline = new("pipeline");
    private static readonly DataField<string> s_stage = new("stage");
    private static readonly DataField<string> s_rule = new("rule");
    private static readonly DataField<string> s_message = new("message");
    private static readonly DataField<string> s_location = new("location");
    private static readonly DataField<int> s_partition = new("partition");
    private static readonly DataField<long> s_offset = new("offset");
    private static readonly DataField<string> s_raw = new("raw");

    private readonly object _gate = new();
    private readonly List<DeadLetter> _buffer = [];
    private readonly int _rowGroupRows;
    private readonly string _tempPath;
    private readonly FileStream _stream;
    private readonly ParquetWriter _writer;
    private long _count;
    private bool _disposed;

    /// <summary>Starts a dead-letter file that will appear at <paramref name="path"/> when disposed.</summary>
    public ParquetDeadLetterSink(string path, int rowGroupRows = 10_000)
    {
        Path = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(folder);
        _tempPath = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite);
        _writer = ParquetWriter.CreateAsync(
            new ParquetSchema(s_pipeline, s_stage, s_rule, s_message, s_location, s_partition, s_offset, s_raw), _stream).GetAwaiter().GetResult();
        _rowGroupRows = Math.Max(1, rowGroupRows);
    }

    /// <summary>The final path of the file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public long Count => Interlocked.Read(ref _count);

    /// <inheritdoc/>
    public void Write(DeadLetter deadLetter)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _buffer.Add(deadLetter);
            Interlocked.Increment(ref _count);
            if (_buffer.Count >= _rowGroupRows) WriteGroup();
        }
    }

    private void WriteGroup()
    {
        if (_buffer.Count == 0) return;
        using (var group = _writer.CreateRowGroup())
        {
            group.WriteAsync(s_pipeline, _buffer.Select(d => d.Pipeline).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_stage, _buffer.Select(d => d.Stage).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_rule, _buffer.Select(d => d.Rule).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_message, _buffer.Select(d => d.Message).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_location, _buffer.Select(d => d.Location).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_partition, (ReadOnlyMemory<int>)_buffer.Select(d => d.Partition).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_offset, (ReadOnlyMemory<long>)_buffer.Select(d => d.Offset).ToArray()).GetAwaiter().GetResult();
            group.WriteAsync(s_raw, _buffer.Select(d => d.Raw).ToArray()).GetAwaiter().GetResult();
            group.CompleteValidate();
        }
        _buffer.Clear();
    }

    /// <summary>Writes the pending letters as a row group and forces them to disk.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_disposed) return;
            WriteGroup();
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Writes the last row group and the footer, then renames the file into place.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            WriteGroup();
            _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
            File.Move(_tempPath, Path, overwrite: true);
        }
    }
}
