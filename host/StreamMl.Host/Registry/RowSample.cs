namespace StreamMl.Host.Registry;

/// <summary>Which training rows a model saw, in a bounded form: the sorted 64-bit hashes of every training row whose
/// hash is at most <see cref="Cutoff"/> (all rows while they fit in <see cref="Capacity"/>; otherwise the smallest
/// hashes, a consistent sample). A row of another file whose hash is at most the cutoff is a training row exactly when
/// its hash is in the sample, so the share of training rows in a file is estimated from the rows under the cutoff
/// (exact when every row was kept).</summary>
public sealed record RowSample
{
    /// <summary>The most hashes stored.</summary>
    public const int Capacity = 65_536;

    /// <summary>The version file holding the hashes: little-endian uint64, ascending.</summary>
    public string File { get; init; } = "";

    /// <summary>The columns hashed, in order (the model's input columns).</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>Training rows hashed.</summary>
    public long Rows { get; init; }

    /// <summary>Hashes stored.</summary>
    public int Count { get; init; }

    /// <summary>The largest hash kept (ulong.MaxValue when every row was kept).</summary>
    public ulong Cutoff { get; init; }
}
