using StreamMl.Engine.Routing;
using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>The traffic split shared by ScoringOperator and the host's model stage (VariantScoringOperator).</summary>
public sealed class RoutingBucketsTests
{
    [Theory]
    [InlineData(new[] { 0.0, 0.0 })]
    [InlineData(new[] { 1.0, -0.5 })]
    [InlineData(new[] { double.NaN, 1.0 })]
    public void Weights_that_give_no_split_are_refused(double[] weights)
    {
        var bounds = new int[weights.Length];
        Assert.Throws<ArgumentException>(() => TrafficSplit.Split(weights, bounds));
    }

    [Theory]
    [InlineData(new[] { 1.0, 3.0 })]
    [InlineData(new[] { 0.9, 0.1 })]
    [InlineData(new[] { 1.0, 0.0, 1.0 })]
    public void Each_variant_gets_its_share_of_the_buckets(double[] weights)
    {
        var bounds = new int[weights.Length];
        TrafficSplit.Split(weights, bounds);
        var counts = new int[weights.Length];
        for (var bucket = 0u; bucket < (uint)TrafficSplit.Buckets; bucket++) counts[TrafficSplit.VariantOf(bucket, bounds)]++;

        var total = weights.Sum();
        for (var i = 0; i < weights.Length; i++)
            Assert.InRange(counts[i], weights[i] / total * TrafficSplit.Buckets - 1, weights[i] / total * TrafficSplit.Buckets + 1);
        Assert.Equal(TrafficSplit.Buckets, counts.Sum());
    }
}
