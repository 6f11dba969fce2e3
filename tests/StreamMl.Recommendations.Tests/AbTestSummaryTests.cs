using StreamMl.Recommendations.Serving;

namespace StreamMl.Recommendations.Tests;

/// <summary>The plain A/B snapshot a monitoring report renders: users, impressions, rates with Wilson intervals and the
/// z-test against the baseline.</summary>
public sealed class AbTestSummaryTests
{
    /// <summary>The Wilson interval by its definition: every p0 the score test |p̂ − p0| / sqrt(p0(1 − p0)/n) ≤ z does
    /// not reject, found by scanning p0 on a fine grid.</summary>
    private static (double Low, double High) ScoreTestInterval(long successes, long trials, double z)
    {
        var p = successes / (double)trials;
        double low = double.NaN, high = double.NaN;
        for (var i = 0; i <= 1_000_000; i++)
        {
            var p0 = i / 1_000_000.0;
            var accepted = p0 is 0 or 1 ? Math.Abs(p - p0) < 1e-12 : Math.Abs(p - p0) / Math.Sqrt(p0 * (1 - p0) / trials) <= z;
            if (!accepted) continue;
            if (double.IsNaN(low)) low = p0;
            high = p0;
        }
        return (low, high);
    }

    [Theory]
    [InlineData(0, 20), InlineData(3, 20), InlineData(20, 20), InlineData(57, 1000), InlineData(480, 1000)]
    public void The_wilson_interval_holds_exactly_the_rates_the_score_test_accepts(long successes, long trials)
    {
        var (low, high) = SignificanceTest.WilsonInterval(successes, trials, 0.95);
        var (expectedLow, expectedHigh) = ScoreTestInterval(successes, trials, 1.959963984540054);
        Assert.Equal(expectedLow, low, 5e-6);
        Assert.Equal(expectedHigh, high, 5e-6);
    }

    [Fact]
    public void The_summary_counts_users_impressions_clicks_and_hits_per_variant_and_tests_them_against_the_first()
    {
        var a = new PopularityRecommender();
        var b = new PopularityRecommender();
        var server = new RecommendationServer([new RecommendationVariant("A", a, 1), new RecommendationVariant("B", b, 1)]);
        foreach (var model in new[] { a, b })
            for (var item = 1; item <= 10; item++) model.Update(new Interaction(999, item, RandomInteractions.Start + item));
        var results = new ScoredItem[3];
        var expected = new[] { new Expected(), new Expected() };
        for (var user = 1; user <= 60; user++)
        {
            var variant = user % 2;
            var served = server.Recommend(user, 3, null, results, variant);
            if (user % 7 == 0) server.Recommend(user, 3, null, results, variant); // served twice: one more impression, same user
            var items = results.Take(served.Result.Count).Select(r => r.Item).ToArray();
            var e = expected[variant];
            e.Users.Add(user);
            e.Impressions += user % 7 == 0 ? 2 : 1;
            // B's users take a recommended item more often than A's.
            var hit = user % (variant == 0 ? 5 : 2) == 0;
            server.Observe(new Interaction(user, hit ? items[0] : 10, RandomInteractions.Start + 100));
            e.Resolved++;
            if (hit) e.Hits++;
            if (hit) e.Clicks++;
        }

        var summary = server.Summarize(0.9);
        Assert.Equal("A", summary.Baseline);
        Assert.Equal(0.9, summary.ConfidenceLevel);
        for (var v = 0; v < 2; v++)
        {
            var s = summary.Variants[v];
            var e = expected[v];
            Assert.Equal((e.Users.Count, (long)e.Impressions, (long)e.Clicks, (long)e.Resolved, (long)e.Hits),
                (s.Users, s.Impressions, s.ClickThrough.Successes, s.HitRate.Trials, s.HitRate.Successes));
            Assert.Equal(e.Clicks / (double)e.Impressions, s.ClickThrough.Rate, 12);
            var (low, high) = ScoreTestInterval(e.Hits, e.Resolved, 1.6448536269514722);
            Assert.Equal(low, s.HitRate.Low, 5e-6);
            Assert.Equal(high, s.HitRate.High, 5e-6);
        }
        Assert.Equal((0d, 1d), (summary.Variants[0].HitRate.Z, summary.Variants[0].HitRate.PValue));
        // The z-test of B against A with the pooled proportion, computed here from the counts.
        double pa = expected[0].Hits / (double)expected[0].Resolved, pb = expected[1].Hits / (double)expected[1].Resolved;
        var pooled = (expected[0].Hits + expected[1].Hits) / (double)(expected[0].Resolved + expected[1].Resolved);
        var z = (pb - pa) / Math.Sqrt(pooled * (1 - pooled) * (1.0 / expected[0].Resolved + 1.0 / expected[1].Resolved));
        Assert.Equal(z, summary.Variants[1].HitRate.Z, 9);
        Assert.True(summary.Variants[1].HitRate.PValue < 0.05);
    }

    private sealed class Expected
    {
        public readonly HashSet<long> Users = [];
        public int Impressions, Clicks, Resolved, Hits;
    }
}
