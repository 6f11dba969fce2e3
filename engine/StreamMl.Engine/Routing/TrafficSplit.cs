namespace StreamMl.Engine.Routing;

/// <summary>Deterministic A/B routing by key: a key falls into one of <see cref="Buckets"/> buckets by its 32-bit FNV-1a
/// hash, and consecutive bucket ranges belong to consecutive variants in proportion to their weights. Every component
/// that splits traffic (model variants, recommender variants, rollouts) uses this, so one key meets the same variant
/// everywhere.</summary>
public static class TrafficSplit
{
    /// <summary>Number of routing buckets: weights resolve to 0.01 %.</summary>
    public const int Buckets = 10_000;

    /// <summary>The routing bucket of a string key, in [0, <see cref="Buckets"/>): FNV-1a of its UTF-16 code units.</summary>
    public static uint BucketOf(ReadOnlySpan<char> key) => Fnv1a(key) % Buckets;

    /// <summary>The routing bucket of an integer key: FNV-1a of its 8 little-endian bytes.</summary>
    public static uint BucketOf(long key) => Fnv1a(key) % Buckets;

    /// <summary>Splits the buckets between variants in proportion to <paramref name="weights"/>, in order: variant i
    /// takes the buckets below <paramref name="upperBuckets"/>[i] and at or above the previous variant's bound.</summary>
    public static void Split(ReadOnlySpan<double> weights, Span<int> upperBuckets)
    {
        if (upperBuckets.Length < weights.Length) throw new ArgumentException("one upper bound per weight is needed", nameof(upperBuckets));
        var total = 0.0;
        foreach (var w in weights)
        {
            if (!double.IsFinite(w) || w < 0) throw new ArgumentException($"traffic weights must be finite and non-negative, got {w}", nameof(weights));
            total += w;
        }
        if (total <= 0) throw new ArgumentException("at least one traffic weight must be positive", nameof(weights));
        double cumulative = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            cumulative += weights[i];
            upperBuckets[i] = i == weights.Length - 1 ? Buckets : (int)Math.Round(cumulative / total * Buckets);
        }
    }

    /// <summary>The variant whose bucket range holds <paramref name="bucket"/> (see <see cref="Split"/>).</summary>
    public static int VariantOf(uint bucket, ReadOnlySpan<int> upperBuckets)
    {
        for (var i = 0; i < upperBuckets.Length; i++) if (bucket < (uint)upperBuckets[i]) return i;
        return upperBuckets.Length - 1;
    }

    /// <summary>32-bit FNV-1a of the UTF-16 code units of <paramref name="value"/> (low byte first).</summary>
    public static uint Fnv1a(ReadOnlySpan<char> value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ (byte)c) * 16777619u;
            hash = (hash ^ (byte)(c >> 8)) * 16777619u;
        }
        return hash;
    }

    /// <summary>32-bit FNV-1a of the 8 little-endian bytes of <paramref name="value"/>.</summary>
    public static uint Fnv1a(long value)
    {
        var hash = 2166136261u;
        for (var i = 0; i < 8; i++) hash = (hash ^ (byte)(value >> (8 * i))) * 16777619u;
        return hash;
    }
}
