using System.IO.Compression;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Opens input files, decompressing gzip (recognised by its magic bytes, whatever the name).</summary>
internal static class InputStreams
{
    /// <summary>Opens <paramref name="path"/>: a gzip file as a <see cref="CheckedGzipStream"/> that hands out only
    /// verified bytes; a plain file from byte <paramref name="start"/> up to (not including) byte <paramref name="limit"/>.</summary>
    public static Stream Open(string path, long start = 0, long limit = long.MaxValue)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        var read = file.Read(magic);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            if (start != 0) throw new BadInputException("a gzip file cannot be read from the middle; it is read whole once it stops changing", path);
            var check = GzipVerifier.Check(path);
            var stream = new CheckedGzipStream(file, path, check);
            if (check.VerifiedBytes == 0 && check.Problem is not null)
            {
                stream.Dispose();
                stream.ThrowIfTruncated(); // nothing verified: the file fails as a whole, with the gzip problem as its reason
            }
            return stream;
        }
        file.Position = start;
        return limit == long.MaxValue ? file : new BoundedStream(file, limit - start);
    }

    public static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }
}

/// <summary>A gzip stream that hands out only bytes of members that verified (see <see cref="GzipVerifier"/>): nothing
/// decoded from a member whose CRC-32 or size does not match ever reaches a reader. When the file did not verify to
/// its end, the bytes after the last line break before the verified end (a line torn by the bad member) are dropped
/// too, and <see cref="ThrowIfTruncated"/> reports the problem after the last verified record.</summary>
internal sealed class CheckedGzipStream(FileStream file, string path, GzipCheck check) : Stream
{
    private readonly GZipStream _inner = new(file, CompressionMode.Decompress, leaveOpen: true);
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _deliverEnd;
    private int _end;
    private bool _innerEnded;
    private long _produced;

    /// <summary>Throws a <see cref="BadInputException"/> when the file did not verify to its end (corrupt or truncated):
    /// readers call it after the last record they got.</summary>
    public void ThrowIfTruncated()
    {
        if (check.Problem is { } problem)
            throw new BadInputException(
                $"{problem}; only the {check.VerifiedMembers:N0} member(s) before it verified ({check.VerifiedBytes:N0} decompressed bytes) " +
                $"and only their whole lines were read, nothing decoded after decompressed byte {check.VerifiedBytes:N0} was used: re-copy the file", path);
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
                // Nothing past the verified end is decoded again: a member that failed could throw or hand out invented bytes.
                var allowed = (int)Math.Min(_buffer.Length - _end, check.VerifiedBytes - _produced);
                read = allowed > 0 ? _inner.Read(_buffer, _end, allowed) : 0;
            }
            catch (InvalidDataException ex)
            {
                // The file changed since it was verified.
                throw new BadInputException($"corrupt gzip data after {_produced:N0} decompressed bytes ({ex.Message}); the rest of the file is skipped", path);
            }
            if (read <= 0)
            {
                _innerEnded = true;
                // A file that verified to its end ends where it ends (a last line without a line break included); otherwise
                // the line torn by the bad member is dropped.
                if (check.Problem is not null) _end = _deliverEnd;
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

/// <summary>Reads a file from its current position for at most a given number of bytes: a followed file is read only
/// up to the end of its last complete line, whatever is appended meanwhile.</summary>
internal sealed class BoundedStream(FileStream file, long length) : Stream
{
    private long _left = length;

    public override int Read(Span<byte> destination)
    {
        if (_left <= 0 || destination.IsEmpty) return 0;
        var n = file.Read(destination[..(int)Math.Min(destination.Length, _left)]);
        _left -= n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => file.Position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }
}
