using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Connectors.DeadLetters;

/// <summary>Appends each dead letter as one JSON object per line: <c>pipeline, stage, rule, message, location,
/// partition, offset, raw</c>. Thread-safe; written through to the OS every <c>flushEvery</c> letters, and to disk on
/// <see cref="Flush"/> (which the pipeline calls before it commits source positions) and on dispose; a flush or dispose
/// with no letter written since the last one does not touch the disk.</summary>
public sealed class JsonLinesDeadLetterSink : IDeadLetterSink, IDisposable
{
    private readonly object _gate = new();
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;
    private readonly int _flushEvery;
    private long _count;
    private long _diskSyncs;
    private bool _unsynced;
    private bool _disposed;

    /// <summary>Creates (or, with <paramref name="append"/>, appends to) the file at <paramref name="path"/>.</summary>
    public JsonLinesDeadLetterSink(string path, bool append = false, int flushEvery = 1000)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
        _stream = new FileStream(Path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        _writer = new Utf8JsonWriter(_stream, new JsonWriterOptions { SkipValidation = true });
        _flushEvery = Math.Max(1, flushEvery);
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Times the file was forced to disk (fsync) so far: tests check that idle flushes cost none.</summary>
    internal long DiskSyncs => Interlocked.Read(ref _diskSyncs);

    /// <inheritdoc/>
    public void Write(DeadLetter deadLetter)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _writer.WriteStartObject();
            _writer.WriteString("pipeline", deadLetter.Pipeline);
            _writer.WriteString("stage", deadLetter.Stage);
            _writer.WriteString("rule", deadLetter.Rule);
            _writer.WriteString("message", deadLetter.Message);
            _writer.WriteString("location", deadLetter.Location);
            _writer.WriteNumber("partition", deadLetter.Partition);
            _writer.WriteNumber("offset", deadLetter.Offset);
            _writer.WriteString("raw", deadLetter.Raw);
            _writer.WriteEndObject();
            _writer.Flush();
            _stream.WriteByte((byte)'\n');
            _writer.Reset();
            _unsynced = true;
            if (Interlocked.Increment(ref _count) % _flushEvery == 0) _stream.Flush();
        }
    }

    /// <summary>Forces every letter written so far to disk.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_disposed) return;
            SyncToDisk();
        }
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _writer.Dispose();
            SyncToDisk();
            _stream.Dispose();
        }
    }

    /// <summary>fsync is the costly part of a flush (milliseconds on a real disk) and the pipeline flushes before every
    /// commit, letters or not: skip it when nothing was written since the last one.</summary>
    private void SyncToDisk()
    {
        if (!_unsynced) return;
        _unsynced = false;
        _stream.Flush(flushToDisk: true);
        Interlocked.Increment(ref _diskSyncs);
    }
}
