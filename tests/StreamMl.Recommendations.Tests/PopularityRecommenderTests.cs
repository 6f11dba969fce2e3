namespace StreamMl.Recommendations.Tests;

/// <summary>Popularity against plain counting.</summary>
public sealed class PopularityRecommenderTests
{
    [Fact]
    public void Scores_are_interaction_counts_and_the_list_is_the_most_popular_unseen_items()
    {
        var events = RandomInteractions.Distinct(seed: 1, users: 40, items: 30, events: 400);
        var recommender = new PopularityRecommender(new RecommenderOptions { PopularityHalfLife = null });
        RandomInteractions.Feed(recommender, events);

        var counts = events.GroupBy(e => e.Item).ToDictionary(g => g.Key, g => g.Count());
        foreach (var user in events.Select(e => e.User).Distinct())
        {
            var seen = events.Where(e => e.User == user).Select(e => e.Item).ToHashSet();
            var expected = counts.Where(c => !seen.Contains(c.Key)).OrderByDescending(c => c.Value)
                .ThenBy(c => events.FindIndex(e => e.Item == c.Key)) // ties: first seen first
                .Take(5).ToList();
            var results = new ScoredItem[5];
            var answer = recommender.Recommend(user, 5, null, results);

            Assert.Equal(RecommendationSource.Model, answer.Source);
            Assert.Equal(expected.Select(c => c.Key), results.Take(answer.Count).Select(r => r.Item));
            Assert.Equal(expected.Select(c => (float)c.Value), results.Take(answer.Count).Select(r => r.Score));
        }
    }

    [Fact]
    public void Decayed_scores_halve_every_half_life()
    {
        var halfLife = TimeSpan.FromHours(2);
        var random = new Random(7);
        var events = Enumerable.Range(0, 300).Select(i =>
            new Interaction(random.Next(10), 1 + random.Next(8), RandomInteractions.Start + i * 60_000_000L, 1 + random.Next(3))).ToList();
        var recommender = new PopularityRecommender(new RecommenderOptions { PopularityHalfLife = halfLife, ProfileCapacity = 1 });
        RandomInteractions.Feed(recommender, events);

        var newest = events.Max(e => e.TimeMicros);
        var expected = events.GroupBy(e => e.Item).ToDictionary(g => g.Key,
            g => g.Sum(e => e.Weight * Math.Pow(2, -(newest - e.TimeMicros) / (halfLife.TotalMicroseconds))));
        var results = new ScoredItem[8];
        var answer = recommender.Recommend(-1, 8, null, results);

        Assert.Equal(RecommendationSource.PopularityUnknownUser, answer.Source);
        Assert.Equal(expected.Count, answer.Count);
        foreach (var r in results.Take(answer.Count)) Assert.Equal(expected[r.Item], r.Score, 1e-3);
        Assert.Equal(expected.OrderByDescending(e => e.Value).Select(e => e.Key), results.Take(answer.Count).Select(r => r.Item));
    }

    [Fact]
    public void Decay_survives_a_span_of_thousands_of_half_lives()
    {
        // The stored counts are rescaled before 2^(t/halfLife) overflows: one event now and one 10,000 half-lives later.
        var recommender = new PopularityRecommender(new RecommenderOptions { PopularityHalfLife = TimeSpan.FromSeconds(1), MaxLateness = TimeSpan.MaxValue / 2 });
        for (var i = 0; i <= 10_000; i += 100) recommender.Update(new Interaction(1, 1 + i % 3, RandomInteractions.Start + i * 1_000_000L));
        var results = new ScoredItem[3];
        var answer = recommender.Recommend(99, 3, null, results);
        Assert.Equal(3, answer.Count);
        Assert.All(results, r => Assert.True(float.IsFinite(r.Score) && r.Score >= 0, $"score {r.Score}"));
        Assert.Equal(1f, results[0].Score, 1e-4); // the newest event, undecayed; the others are 2^-100 and less
    }
}
