namespace StreamMl.Connectors.Files.Internal;

/// <summary>Cuts a plain CSV file, from the byte after its header, into chunks of at most a batch's worth of whole
/// lines, for <see cref="ParallelCsvFileReader"/>'s workers. A chunk can be parsed on its own only when each of its
/// lines is one record: every line holds an even number of quotes (so no quoted field runs past a line break, and no
/// quote is left open to swallow the next lines) and every carriage return is followed by a line feed (Sep counts a
/// lone one as a line break). The first chunk that breaks this is marked <see cref="CsvChunkKind.Sequential"/>: from
/// its first byte on, the file is read by the sequential reader, which handles those records and their errors.</summary>
internal sealed class CsvChunkSplitter : IDisposable
{
    private const byte Quote = (byte)'"';
    private const byte LineFeed = (byte)'\n';
    private const byte CarriageReturn = (byte)'\r';

    private readonly FileStream _file;
    private readonly byte[] _block = new byte[1 << 20];
    private readonly int _maxLines;
    private int _blockStart;
    private int _blockEnd;
    private long _nextByte;
    private long _nextLine;

    /// <summary>Starts at byte <paramref name="dataStart"/>, where line <paramref name="dataLine"/> begins.</summary>
    public CsvChunkSplitter(string path, long dataStart, long dataLine, int maxLines)
    {
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        _file.Position = dataStart;
        _nextByte = dataStart;
        _nextLine = dataLine;
        _maxLines = maxLines;
    }

    /// <summary>Fills <paramref name="chunk"/> with the next lines: <see cref="CsvChunkKind.Lines"/>,
    /// <see cref="CsvChunkKind.End"/> when the file has no more, or <see cref="CsvChunkKind.Sequential"/>.</summary>
    public void Cut(CsvChunk chunk)
    {
        chunk.Length = 0;
        chunk.StartByte = _nextByte;
        chunk.StartLine = _nextLine;
        chunk.Error = null;
        var lines = 0;
        while (lines < _maxLines)
        {
            if (_blockStart == _blockEnd && !Refill()) break;
            var span = _block.AsSpan(_blockStart, _blockEnd - _blockStart);
            var taken = 0;
            while (true)
            {
                var next = span[taken..].IndexOf(LineFeed);
                if (next < 0)
                {
                    taken = span.Length; // a line that goes on in the next block
                    break;
                }
                taken += next + 1;
                if (++lines == _maxLines) break;
            }
            chunk.Reserve(taken);
            span[..taken].CopyTo(chunk.Bytes.AsSpan(chunk.Length));
            chunk.Length += taken;
            _blockStart += taken;
        }
        // Only the file's last line can lack its line break.
        if (chunk.Length > 0 && chunk.Bytes[chunk.Length - 1] != LineFeed) lines++;
        chunk.Lines = lines;
        _nextByte += chunk.Length;
        _nextLine += lines;
        if (chunk.Length == 0)
        {
            chunk.Kind = CsvChunkKind.End;
            return;
        }
        var bytes = chunk.Bytes.AsSpan(0, chunk.Length);
        chunk.HasQuotes = bytes.Contains(Quote);
        chunk.Kind = IsOneRecordPerLine(bytes, chunk.HasQuotes) ? CsvChunkKind.Lines : CsvChunkKind.Sequential;
    }

    /// <summary>True when every line of <paramref name="bytes"/> is a record of its own (see the class summary).</summary>
    public static bool IsOneRecordPerLine(ReadOnlySpan<byte> bytes, bool hasQuotes)
    {
        for (var at = bytes.IndexOf(CarriageReturn); at >= 0;)
        {
            if (at + 1 >= bytes.Length || bytes[at + 1] != LineFeed) return false;
            var next = bytes[(at + 1)..].IndexOf(CarriageReturn);
            at = next < 0 ? -1 : at + 1 + next;
        }
        if (!hasQuotes) return true;
        while (!bytes.IsEmpty)
        {
            var end = bytes.IndexOf(LineFeed);
            var line = end < 0 ? bytes : bytes[..end];
            if ((line.Count(Quote) & 1) != 0) return false;
            bytes = end < 0 ? [] : bytes[(end + 1)..];
        }
        return true;
    }

    /// <summary>Where the records of a plain CSV file start: the byte after the header's line break, or -1 when the file
    /// cannot be cut (not UTF-8 — a UTF-16 or UTF-32 byte-order mark —, a header over several lines or without a line
    /// break, a lone carriage return in it).</summary>
    public static long DataStart(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var buffer = new byte[1 << 16];
        var length = 0;
        while (true)
        {
            var read = file.Read(buffer, length, buffer.Length - length);
            if (read == 0) return -1;
            length += read;
            if (length >= 2 && (buffer[0] == 0xFF && buffer[1] == 0xFE || buffer[0] == 0xFE && buffer[1] == 0xFF)) return -1;
            var end = buffer.AsSpan(0, length).IndexOf(LineFeed);
            if (end >= 0) return IsOneRecordPerLine(buffer.AsSpan(0, end + 1), hasQuotes: true) ? end + 1 : -1;
            if (length == buffer.Length)
            {
                if (length >= 1 << 24) return -1; // a header of 16 MiB is not a header
                Array.Resize(ref buffer, length * 2);
            }
        }
    }

    private bool Refill()
    {
        _blockStart = 0;
        _blockEnd = _file.Read(_block);
        return _blockEnd > 0;
    }

    public void Dispose() => _file.Dispose();
}
