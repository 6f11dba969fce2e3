namespace StreamMl.Operators.Drift.Internal;

/// <summary>Integer category codes to category index by one array load: <c>Index[code − Offset]</c>, with codes outside
/// the array going to the "other" bucket. Used when the reference codes span at most <see cref="MaxSpan"/> values, which
/// holds for the small codes (pay status, education, region) integer categories usually are.</summary>
internal sealed class DenseCategoryMap
{
    /// <summary>Widest span of codes kept dense (256 KiB of indexes).</summary>
    public const int MaxSpan = 1 << 16;

    private DenseCategoryMap(long offset, int[] index, int other)
    {
        Offset = offset;
        Index = index;
        Other = other;
    }

    /// <summary>The smallest reference code.</summary>
    public long Offset { get; }

    /// <summary>Category index per code from <see cref="Offset"/>; gaps hold <see cref="Other"/>.</summary>
    public int[] Index { get; }

    /// <summary>The "other" bucket.</summary>
    public int Other { get; }

    /// <summary>The category of <paramref name="code"/>. The unsigned difference wraps codes below the offset to huge
    /// values, so one compare rejects both sides.</summary>
    public int Lookup(long code)
    {
        var at = unchecked((ulong)code - (ulong)Offset);
        return at < (ulong)Index.Length ? Index[at] : Other;
    }

    /// <summary>A dense map of <paramref name="categories"/>, or null when they are empty or spread too wide.</summary>
    public static DenseCategoryMap? TryCreate(Dictionary<long, int> categories, int other)
    {
        if (categories.Count == 0) return null;
        var min = categories.Keys.Min();
        var max = categories.Keys.Max();
        if (unchecked((ulong)max - (ulong)min) >= MaxSpan) return null;
        var index = new int[max - min + 1];
        Array.Fill(index, other);
        foreach (var (code, i) in categories) index[code - min] = i;
        return new DenseCategoryMap(min, index, other);
    }
}
