using StreamMl.Recommendations.Evaluation;

namespace StreamMl.Recommendations.Tests;

/// <summary>Hit rate, NDCG and coverage on a case computed by hand.</summary>
public sealed class RankingMetricsTests
{
    [Fact]
    public void Hit_rate_ndcg_and_coverage_match_the_hand_computed_values()
    {
        var metrics = new RankingMetrics();
        metrics.Add([new(1, 0), new(2, 0), new(3, 0)], relevant: 1); // rank 1: 1/log2(2) = 1
        metrics.Add([new(2, 0), new(3, 0), new(4, 0)], relevant: 4); // rank 3: 1/log2(4) = 0.5
        metrics.Add([new(2, 0), new(1, 0), new(3, 0)], relevant: 9); // miss
        metrics.Add([], relevant: 5);                                   // no list: a miss

        Assert.Equal(4, metrics.Cases);
        Assert.Equal(2, metrics.Hits);
        Assert.Equal(0.5, metrics.HitRate);
        Assert.Equal((1 + 0.5) / 4, metrics.Ndcg, 12);
        Assert.Equal(4.0 / 10, metrics.Coverage(10)); // items 1..4 of 10
    }
}
