using System.Buffers.Binary;
using System.IO.Compression;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Opens input files, decompressing gzip (recognised by its magic bytes, whatever the name).</summary>
internal static class InputStreams
{
    public static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        var read = file.Read(magic);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return new CheckedGzipStream(file, path);
        return file;
    }

    public static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }
}

/// <summary>A gzip stream that notices truncation. .NET's <see cref="GZipStream"/> ends quietly when the compressed
/// data stops early, so at the end this compares the bytes produced with the size the gzip trailer records. It hands out
/// whole lines only, holding back the bytes after the last line break until more arrive: when the file turns out to be
/// truncated, the torn last line is dropped instead of being parsed as a shorter, wrong value. Readers call
/// <see cref="ThrowIfTruncated"/> after the last record to report the cut.</summary>
internal sealed class CheckedGzipStream(FileStream file, string path) : Stream
{
    private readonly GZipStream _inner = new(file, CompressionMode.Decompress, leaveOpen: true);
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _deliverEnd;
    private int _end;
    private bool _innerEnded;
    private long _produced;
    private string? _truncation;

    /// <summary>Throws a <see cref="BadInputException"/> when the end of the data showed that the file was cut.</summary>
    public void ThrowIfTruncated()
    {
        if (_truncation is not null) throw new BadInputException(_truncation, path);
    }

    public override int Read(Span<byte> destination)
    {
        if (destination.IsEmpty) return 0;
        while (true)
        {
            if (_deliverEnd > _start)
            {
                var n = Math.Min(destination.Length, _deliverEnd - _start);
                _buffer.AsSpan(_start, n).CopyTo(destination);
                _start += n;
                return n;
            }
            if (_innerEnded) return 0;
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _deliverEnd = _start = 0;
            }
            if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int read;
            try
            {
                read = _inner.Read(_buffer, _end, _buffer.Length - _end);
            }
            catch (InvalidDataException ex)
            {
                throw new BadInputException($"corrupt gzip data after {_produced:N0} decompressed bytes ({ex.Message}); the rest of the file is skipped", path);
            }
            if (read == 0)
            {
                _innerEnded = true;
                if (CheckTrailer() is { } problem)
                {
                    _truncation = problem;
                    _end = _start; // drop the torn last line
                }
                _deliverEnd = _end;
                continue;
            }
            _produced += read;
            var lastNewline = _buffer.AsSpan(_end, read).LastIndexOf((byte)'\n');
            _end += read;
            if (lastNewline >= 0) _deliverEnd = _end - read + lastNewline + 1;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    private string? CheckTrailer()
    {
        if (file.Length < 18) return "truncated gzip: the file is shorter than a gzip header and trailer";
        Span<byte> trailer = stackalloc byte[4];
        using var raw = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        raw.Position = raw.Length - 4;
        raw.ReadExactly(trailer);
        var recorded = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        return recorded == (uint)_produced ? null
            : $"truncated gzip: the data stops after {_produced:N0} decompressed bytes but the trailer does not match (size field {recorded:N0}); " +
              "the whole lines before the cut were read, the torn last line and the rest are lost: re-copy the file";
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _produced; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            file.Dispose();
        }
        base.Dispose(disposing);
    }
}
