namespace StreamMl.Connectors.Files.Internal;

/// <summary>A file followed as it grows (watch mode): where its next piece starts, its fingerprint, and the piece ends
/// (line, byte) not yet passed by a commit. Fields other than <see cref="Queued"/> and <see cref="CaughtUp"/> (source
/// thread only) are changed under the source's commit lock.</summary>
internal sealed class FollowedFile(string path, int printLength, string printHash)
{
    public string Path { get; set; } = path;
    public int PrintLength { get; set; } = printLength;
    public string PrintHash { get; set; } = printHash;

    /// <summary>Fingerprint of the bytes just before <see cref="ReadByte"/> (null until a piece was read in this run):
    /// files whose first 1 KiB is the same (a long CSV header) are told apart by what was read last.</summary>
    public (int Length, string Hash)? Tail { get; set; }

    /// <summary>True when <paramref name="file"/> is this file: the same first bytes and, once known, the same bytes
    /// before where reading stopped.</summary>
    public bool IsSameAs(string file) =>
        FileIdentity.Matches(file, PrintLength, PrintHash)
        && (Tail is not { } tail || FileIdentity.TailMatches(file, ReadByte, tail.Length, tail.Hash));

    /// <summary>The byte where the next piece starts (just after a line break), and the line number there.</summary>
    public long ReadByte { get; set; }
    public long ReadLine { get; set; } = 1;

    /// <summary>The last piece end at or before the committed line: a restart reads from here, passing over the
    /// committed lines after it.</summary>
    public long ResumeByte { get; set; }
    public long ResumeLine { get; set; } = 1;

    /// <summary>Piece ends (the line starting there, its byte) in reading order.</summary>
    public List<(long Line, long Byte)> Ends { get; } = [];

    /// <summary>Size and write time at the last poll (source thread only).</summary>
    public (long Length, DateTime Written) LastSeen { get; set; } = (-1, DateTime.MinValue);

    public bool Queued { get; set; }
    public bool CaughtUp { get; set; }
    public bool Stopped { get; set; }

    /// <summary>Moves the resume point to the last piece end whose line is committed.</summary>
    public void Commit(long committedLine)
    {
        var last = -1;
        for (var i = 0; i < Ends.Count && Ends[i].Line <= committedLine; i++) last = i;
        if (last < 0) return;
        (ResumeLine, ResumeByte) = Ends[last];
        Ends.RemoveRange(0, last + 1);
    }
}
