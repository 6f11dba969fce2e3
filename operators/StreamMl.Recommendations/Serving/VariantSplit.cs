using StreamMl.Engine.Routing;

namespace StreamMl.Recommendations.Serving;

/// <summary>Assigns users to A/B variants by weight with the engine's <see cref="TrafficSplit"/>: a user goes to the variant
/// whose bucket range holds <see cref="TrafficSplit.BucketOf(long)"/> of the user id, so a user always meets
/// the same variant, and a scoring pipeline keyed by the same user id splits its rows the same way.</summary>
public sealed class VariantSplit
{
    private readonly int[] _upperBuckets;

    /// <summary>Splits traffic in proportion to <paramref name="weights"/> (non-negative, at least one positive).</summary>
    public VariantSplit(IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count == 0) throw new ArgumentException("an A/B split needs at least one variant", nameof(weights));
        _upperBuckets = new int[weights.Count];
        TrafficSplit.Split(weights.ToArray(), _upperBuckets);
    }

    /// <summary>Number of variants.</summary>
    public int Count => _upperBuckets.Length;

    /// <summary>The variant of <paramref name="user"/>, in [0, <see cref="Count"/>).</summary>
    public int Assign(long user) => TrafficSplit.VariantOf(TrafficSplit.BucketOf(user), _upperBuckets);

    /// <summary>The variant of the user named <paramref name="user"/> (string user ids).</summary>
    public int Assign(ReadOnlySpan<char> user) => TrafficSplit.VariantOf(TrafficSplit.BucketOf(user), _upperBuckets);

    /// <summary>The share of users variant <paramref name="variant"/> receives (its buckets over all buckets).</summary>
    public double Share(int variant) =>
        (_upperBuckets[variant] - (variant == 0 ? 0 : _upperBuckets[variant - 1])) / (double)TrafficSplit.Buckets;
}
