using System.Globalization;
using Parquet;
using Parquet.Schema;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.DeadLetters;

/// <summary>Writes dead letters as a folder of Parquet part files (<c>dead.parquet/part-00000.parquet</c>, the layout
/// Spark and DuckDB read as one dataset) with columns <c>pipeline, stage, rule, message, location, partition, offset,
/// raw</c>, a row group every <c>rowGroupRows</c> letters. Each <see cref="Flush"/> that has letters to write (the
/// pipeline flushes before it commits source positions) closes the open part with its footer, forces it to disk and
/// renames it from a hidden temporary name into place: every flushed letter is in a complete, readable file, and a
/// crash loses at most the letters since the last flush, whose source positions were never committed. Parts of an
/// earlier run in the folder are kept; numbering continues after them, skipping a number another sink writing into the
/// same folder took meanwhile (a part is never replaced). Thread-safe.</summary>
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
    private static readonly ParquetSchema s_schema = new(s_pipeline, s_stage, s_rule, s_message, s_location, s_partition, s_offset, s_raw);

    private readonly object _gate = new();
    private readonly List<DeadLetter> _buffer = [];
    private readonly List<string> _published = [];
    private readonly int _rowGroupRows;
    private int _nextPart;
    private string? _tempPath;
    private FileStream? _stream;
    private ParquetWriter? _writer;
    private long _count;
    private bool _disposed;

    /// <summary>Writes dead letters into the folder <paramref name="path"/> (created when missing).</summary>
    public ParquetDeadLetterSink(string path, int rowGroupRows = 10_000)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (File.Exists(Path))
            throw new IOException($"{Path} is a file; a Parquet dead-letter path names a folder of part files: remove the file or choose another name");
        Directory.CreateDirectory(Path);
        _nextPart = Directory.EnumerateFiles(Path, "part-*.parquet").Select(PartNumber).DefaultIfEmpty(-1).Max() + 1;
        _rowGroupRows = Math.Max(1, rowGroupRows);
    }

    /// <summary>The folder holding the part files; read it as one dataset (<c>read_parquet('PATH/*.parquet')</c> in DuckDB).</summary>
    public string Path { get; }

    /// <summary>Full paths of the part files this sink has published, in order.</summary>
    public IReadOnlyList<string> PublishedParts
    {
        get
        {
            lock (_gate) return [.. _published];
        }
    }

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
        var writer = _writer ?? OpenPart();
        using (var group = writer.CreateRowGroup())
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

    private ParquetWriter OpenPart()
    {
        _tempPath = System.IO.Path.Combine(Path, $".{PartName(_nextPart)}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite);
        return _writer = ParquetWriter.CreateAsync(s_schema, new Parquet.Internal.SynchronousStream(_stream)).GetAwaiter().GetResult();
    }

    /// <summary>Writes the footer of the open part, forces it to disk and renames it into place.</summary>
    private void PublishPart()
    {
        if (_writer is null) return;
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream!.Flush(flushToDisk: true);
        _stream.Dispose();
        // Another sink may write parts into the same folder (group members, an overlapping restart): never replace one.
        string final;
        while (true)
        {
            final = System.IO.Path.Combine(Path, PartName(_nextPart++));
            try
            {
                DurableFolder.Publish(_tempPath!, final, overwrite: false);
                break;
            }
            catch (IOException) when (File.Exists(final))
            {
            }
        }
        _published.Add(final);
        (_writer, _stream, _tempPath) = (null, null, null);
    }

    private static string PartName(int number) => string.Create(CultureInfo.InvariantCulture, $"part-{number:D5}.parquet");

    private static int PartNumber(string path) =>
        int.TryParse(System.IO.Path.GetFileNameWithoutExtension(path).AsSpan("part-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;

    /// <summary>Publishes every letter received so far as a complete part file (nothing happens when there is none).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_disposed) return;
            WriteGroup();
            PublishPart();
        }
    }

    /// <summary>Publishes the last letters. A sink that never received one publishes an empty part, so the folder is
    /// always a readable dataset with the dead-letter columns.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            WriteGroup();
            if (_writer is null && _published.Count == 0 && !Directory.EnumerateFiles(Path, "part-*.parquet").Any()) OpenPart();
            PublishPart();
        }
    }
}
