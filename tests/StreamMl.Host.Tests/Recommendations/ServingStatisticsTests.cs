using StreamMl.Recommendations;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>The serving library's A/B split, feedback join, latency percentiles and z-test, each against a plain
/// computation written here.</summary>
public sealed class ServingStatisticsTests
{
    /// <summary>32-bit FNV-1a of the id's 8 little-endian bytes, written out here.</summary>
    private static uint Fnv1a(long key)
    {
        var hash = 2166136261u;
        for (var i = 0; i < 8; i++)
        {
            hash ^= (byte)((ulong)key >> (8 * i));
            hash *= 16777619u;
        }
        return hash;
    }

    [Fact]
    public void Users_go_to_the_variant_their_hash_bucket_falls_in_and_the_shares_match_the_weights()
    {
        double[] weights = [70, 20, 10];
        var split = new VariantSplit(weights);
        var counts = new long[3];
        const int users = 100_000;
        for (long user = 0; user < users; user++)
        {
            var bucket = Fnv1a(user * 7919 + 13) % 10_000;
            var expected = bucket < 7000 ? 0 : bucket < 9000 ? 1 : 2;
            var variant = split.Assign(user * 7919 + 13);
            Assert.Equal(expected, variant);
            Assert.Equal(variant, split.Assign(user * 7919 + 13));
            counts[variant]++;
        }
        // Chi-square against the weights, 2 degrees of freedom: 13.8 is the 0.999 quantile.
        var chiSquare = 0.0;
        for (var i = 0; i < 3; i++)
        {
            var expected = users * weights[i] / 100;
            chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        Assert.True(chiSquare < 13.8, $"chi-square {chiSquare:F2} of counts {string.Join("/", counts)} against 70/20/10");
        Assert.Equal(0.7, split.Share(0), 6);
        Assert.Equal(0.1, split.Share(2), 6);
    }

    /// <summary>P(|Z| ≥ |z|) by Simpson's rule on the normal density, a computation independent of any erfc fit.</summary>
    private static double ReferencePValue(double z)
    {
        var a = Math.Abs(z);
        const double b = 40;
        const int n = 200_000;
        var h = (b - a) / n;
        double Density(double x) => Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
        var sum = Density(a) + Density(b);
        for (var i = 1; i < n; i++) sum += Density(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return 2 * sum * h / 3;
    }

    [Theory]
    [InlineData(120, 1000, 150, 1000)]
    [InlineData(5, 40, 5, 40)]
    [InlineData(300, 10_000, 420, 10_500)]
    [InlineData(0, 100, 9, 100)]
    [InlineData(51, 60, 20, 60)]
    public void The_two_proportion_z_test_matches_a_plain_computation(long sa, long na, long sb, long nb)
    {
        var result = SignificanceTest.TwoProportions(sa, na, sb, nb);
        double pa = sa / (double)na, pb = sb / (double)nb, p = (sa + sb) / (double)(na + nb);
        var z = (pb - pa) / Math.Sqrt(p * (1 - p) * (1.0 / na + 1.0 / nb));
        Assert.Equal(z, result.Z, 9);
        var reference = ReferencePValue(z);
        Assert.True(Math.Abs(result.PValue - reference) <= 1e-6 + 2e-7 * reference, $"p {result.PValue} against {reference} (z {z})");
    }

    [Fact]
    public void The_z_test_is_undefined_without_trials_or_variance()
    {
        Assert.Equal(1, SignificanceTest.TwoProportions(0, 0, 3, 10).PValue);
        Assert.Equal(1, SignificanceTest.TwoProportions(0, 10, 0, 10).PValue);
        Assert.Throws<ArgumentException>(() => SignificanceTest.TwoProportions(11, 10, 0, 10));
    }

    [Fact]
    public void Latency_percentiles_match_a_sorted_list()
    {
        var histogram = new LatencyHistogram();
        var random = new Random(5);
        var values = new List<long>();
        for (var i = 0; i < 5000; i++)
        {
            var v = (long)(random.NextDouble() * random.NextDouble() * 3000);
            values.Add(v);
            histogram.Record(v);
        }
        values.Sort();
        foreach (var percentile in new[] { 50.0, 90, 99, 99.9 })
        {
            var rank = (int)Math.Ceiling(percentile / 100 * values.Count);
            Assert.Equal(values[rank - 1], histogram.Percentile(percentile));
        }
        Assert.Equal(values[^1], histogram.MaxMicros);
    }

    /// <summary>A model that recommends items (user + j) mod 40 for j in 0..k-1, and knows 40 items.</summary>
    private sealed class StubRecommender(string name) : IRecommender
    {
        public string Name => name;

        public RecommenderStats Stats => new(0, 0, 0, 0, 0, 0, 40);

        public void Update(in Interaction interaction) { }

        public void Update(InteractionBatch batch) { }

        public RecommendResult Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results)
        {
            for (var j = 0; j < k; j++) results[j] = new ScoredItem((user + j) % 40, k - j);
            return new RecommendResult(k, user >= 1000 ? RecommendationSource.PopularityUnknownUser : RecommendationSource.Model);
        }

        public void Snapshot(Stream destination) { }

        public void Restore(Stream source) { }
    }

    private sealed class FakeTime : TimeProvider
    {
        public long Ticks;

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    [Fact]
    public void Feedback_metrics_match_a_plain_join_of_impressions_and_interactions()
    {
        var time = new FakeTime();
        var horizon = TimeSpan.FromSeconds(60);
        var server = new RecommendationServer(
            [new RecommendationVariant("A", new StubRecommender("a"), 1), new RecommendationVariant("B", new StubRecommender("b"), 1)],
            new ServingOptions { FeedbackHorizon = horizon, Time = time });
        const int k = 5;
        var results = new ScoredItem[k];
        var random = new Random(11);
        // The reference: the latest impression per user, by plain lists.
        var open = new Dictionary<long, (int Variant, long[] Items, long At, bool Clicked, bool Resolved)>();
        var impressions = new long[2];
        var clicked = new long[2];
        var resolved = new long[2];
        var hits = new long[2];
        var distinct = new[] { new HashSet<long>(), new HashSet<long>() };
        var fallbacks = new long[2];
        for (var step = 0; step < 20_000; step++)
        {
            time.Ticks += random.Next(0, 3) * TimeSpan.TicksPerSecond;
            var user = random.Next(0, 50) + (random.Next(10) == 0 ? 1000 : 0);
            if (random.Next(3) == 0)
            {
                var served = server.Recommend(user, k, null, results);
                var items = results.Select(r => r.Item).ToArray();
                impressions[served.Variant]++;
                if (served.Result.IsFallback) fallbacks[served.Variant]++;
                distinct[served.Variant].UnionWith(items);
                open[user] = (served.Variant, items, time.Ticks, false, false);
            }
            else
            {
                var item = (long)random.Next(0, 40);
                server.Observe(new Interaction(user, item, 0));
                if (!open.TryGetValue(user, out var o) || time.Ticks - o.At > horizon.Ticks) continue;
                var isServed = o.Items.Contains(item);
                if (!o.Resolved)
                {
                    o.Resolved = true;
                    resolved[o.Variant]++;
                    if (isServed) hits[o.Variant]++;
                }
                if (isServed && !o.Clicked)
                {
                    o.Clicked = true;
                    clicked[o.Variant]++;
                }
                open[user] = o;
            }
        }
        var metrics = server.Metrics();
        for (var v = 0; v < 2; v++)
        {
            var m = metrics[v];
            Assert.Equal(impressions[v], m.Requests);
            Assert.Equal(fallbacks[v], m.Fallbacks);
            Assert.Equal(clicked[v], m.Clicked);
            Assert.Equal(resolved[v], m.Resolved);
            Assert.Equal(hits[v], m.Hits);
            Assert.Equal(distinct[v].Count, m.DistinctItems);
            Assert.Equal(clicked[v] / (double)impressions[v], m.ClickThroughRate, 12);
            Assert.Equal(hits[v] / (double)resolved[v], m.HitRate, 12);
            Assert.Equal(Math.Min(1, distinct[v].Count / 40.0), m.Coverage, 12);
        }
        Assert.True(clicked[0] > 100 && resolved[1] > 100, "the script produced too little feedback to compare");
        var ctr = server.CompareClickThrough(0, 1);
        var reference = SignificanceTest.TwoProportions(clicked[0], impressions[0], clicked[1], impressions[1]);
        Assert.Equal(reference, ctr);
    }

    [Fact]
    public void Bad_k_and_unknown_variants_are_refused_with_a_message()
    {
        var server = new RecommendationServer([new RecommendationVariant("A", new StubRecommender("a"), 1)], new ServingOptions { MaxK = 100 });
        var results = new ScoredItem[200];
        Assert.Contains("k must be between 1 and 100, got 0", Assert.Throws<ArgumentException>(() => server.Recommend(1, 0, null, results)).Message);
        Assert.Contains("got 101", Assert.Throws<ArgumentException>(() => server.Recommend(1, 101, null, results)).Message);
        Assert.Contains("no variant 3", Assert.Throws<ArgumentException>(() => server.Recommend(1, 5, null, results, variant: 3)).Message);
        Assert.Contains("named twice", Assert.Throws<ArgumentException>(() => new RecommendationServer(
            [new RecommendationVariant("A", new StubRecommender("a"), 1), new RecommendationVariant("A", new StubRecommender("b"), 1)])).Message);
    }

    [Fact]
    public void Serving_and_the_feedback_join_allocate_nothing_in_steady_state()
    {
        var server = new RecommendationServer(
            [new RecommendationVariant("A", new StubRecommender("a"), 1), new RecommendationVariant("B", new StubRecommender("b"), 1)]);
        var results = new ScoredItem[10];
        void Round()
        {
            for (long user = 0; user < 200; user++)
            {
                server.Recommend(user, 10, null, results);
                server.Observe(new Interaction(user, (user + 3) % 40, 0));
            }
        }
        Round(); // every user, impression and recommended item seen once
        Round();
        Assert.Equal(0, SteadyState.AllocatedBytes(Round, 10));
    }
}
