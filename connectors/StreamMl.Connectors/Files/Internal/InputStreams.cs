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
/// data stops early, so at the end this compares the bytes produced with the size the gzip trailer records.</summary>
internal sealed class CheckedGzipStream(FileStream file, string path) : Stream
{
    private readonly GZipStream _inner = new(file, CompressionMode.Decompress, leaveOpen: true);
    private long _produced;
    private bool _checked;

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _inner.Read(buffer);
        }
        catch (InvalidDataException ex)
        {
            throw new BadInputException($"corrupt gzip data after {_produced:N0} decompressed bytes ({ex.Message}); the rest of the file is skipped", path);
        }
        _produced += n;
        if (n == 0 && buffer.Length > 0) CheckTrailer();
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    private void CheckTrailer()
    {
        if (_checked) return;
        _checked = true;
        if (file.Length < 18) throw new BadInputException("truncated gzip: the file is shorter than a gzip header and trailer", path);
        Span<byte> trailer = stackalloc byte[4];
        using var raw = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        raw.Position = raw.Length - 4;
        raw.ReadExactly(trailer);
        var recorded = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        if (recorded != (uint)_produced)
            throw new BadInputException(
                $"truncated gzip: it ends after {_produced:N0} decompressed bytes but its trailer is not a valid end (size field {recorded:N0}); " +
                "rows up to the cut were read, the rest of the file is lost: re-copy the file", path);
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
