using System.Security.Cryptography;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Tells files apart by content rather than by name, as Filebeat's and Vector's fingerprints do: a file is
/// known by a hash of its first bytes (up to <see cref="MaxLength"/>), so a log rotated to another name is still the
/// same file, and a new file under an old name is a new file. A file shorter than that is known by the bytes it has;
/// as it grows the fingerprint is lengthened once its old prefix still matches.</summary>
internal static class FileIdentity
{
    /// <summary>Bytes hashed at most: 1 KiB, Filebeat's default.</summary>
    public const int MaxLength = 1024;

    /// <summary>The fingerprint of the first bytes of <paramref name="path"/> (up to <see cref="MaxLength"/>).</summary>
    public static (int Length, string Hash) Of(string path)
    {
        Span<byte> head = stackalloc byte[MaxLength];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var length = file.ReadAtLeast(head, MaxLength, throwOnEndOfStream: false);
        return (length, Hash(head[..length]));
    }

    /// <summary>True when the first <paramref name="length"/> bytes of <paramref name="path"/> hash to <paramref name="hash"/>.</summary>
    public static bool Matches(string path, int length, string hash)
    {
        try
        {
            Span<byte> head = stackalloc byte[MaxLength];
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            var read = file.ReadAtLeast(head[..length], length, throwOnEndOfStream: false);
            return read == length && Hash(head[..length]) == hash;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The fingerprint of the bytes just before <paramref name="end"/> (up to <see cref="MaxLength"/>): with
    /// the first bytes it tells a file from a new one that starts the same (a wide CSV header longer than 1 KiB).</summary>
    public static (int Length, string Hash) TailOf(string path, long end)
    {
        var length = (int)Math.Min(end, MaxLength);
        Span<byte> tail = stackalloc byte[MaxLength];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        file.Position = end - length;
        var read = file.ReadAtLeast(tail[..length], length, throwOnEndOfStream: false);
        return (read, Hash(tail[..read]));
    }

    /// <summary>True when the <paramref name="length"/> bytes of <paramref name="path"/> before <paramref name="end"/>
    /// hash to <paramref name="hash"/>.</summary>
    public static bool TailMatches(string path, long end, int length, string hash)
    {
        try
        {
            if (new FileInfo(path).Length < end) return false;
            return TailOf(path, end) is var (read, print) && read == length && print == hash;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 16));

    /// <summary>The offset just after the last line break in [<paramref name="from"/>, <paramref name="length"/>), or
    /// <paramref name="from"/> when there is none: how far a followed file holds whole lines.</summary>
    public static long CompleteLinesEnd(string path, long from, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var buffer = new byte[1 << 16];
        var end = Math.Min(length, file.Length);
        while (end > from)
        {
            var start = Math.Max(from, end - buffer.Length);
            file.Position = start;
            var span = buffer.AsSpan(0, (int)(end - start));
            file.ReadExactly(span);
            var newline = span.LastIndexOf((byte)'\n');
            if (newline >= 0) return start + newline + 1;
            end = start;
        }
        return from;
    }
}
