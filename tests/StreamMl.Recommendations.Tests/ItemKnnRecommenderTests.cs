namespace StreamMl.Recommendations.Tests;

/// <summary>Item-kNN against cosine similarities computed from the user × item matrix.</summary>
public sealed class ItemKnnRecommenderTests
{
    private const int Items = 25;

    private static ItemKnnRecommender Exact() => new(new ItemKnnOptions
    {
        MaxNeighbours = Items, CoOccurrenceWindow = 1000, ProfileCapacity = 1000, ProfileHalfLife = null,
    });

    private static double Cosine(double[,] x, int a, int b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var u = 0; u < x.GetLength(0); u++)
        {
            dot += x[u, a] * x[u, b];
            na += x[u, a] * x[u, a];
            nb += x[u, b] * x[u, b];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public void Similarities_updated_per_event_equal_cosine_over_the_whole_matrix()
    {
        var events = RandomInteractions.Distinct(seed: 3, users: 30, items: Items, events: 300);
        var recommender = Exact();
        RandomInteractions.Feed(recommender, events);
        var (x, _) = RandomInteractions.Matrix(events, Items);

        for (var a = 0; a < Items; a++)
            for (var b = 0; b < Items; b++)
                if (a != b) Assert.Equal(Cosine(x, a, b), recommender.Similarity(a + 1, b + 1), 1e-5);
    }

    [Fact]
    public void Scores_are_the_sum_of_similarities_to_the_profile_items()
    {
        var events = RandomInteractions.Distinct(seed: 4, users: 30, items: Items, events: 250);
        var recommender = Exact();
        RandomInteractions.Feed(recommender, events);
        var (x, users) = RandomInteractions.Matrix(events, Items);

        foreach (var user in users.Take(10))
        {
            var u = users.IndexOf(user);
            var expected = Enumerable.Range(0, Items).Where(c => x[u, c] == 0)
                .Select(c => (Item: (long)(c + 1), Score: Enumerable.Range(0, Items).Where(j => x[u, j] == 1).Sum(j => Cosine(x, j, c))))
                .Where(s => s.Score > 0).OrderByDescending(s => s.Score).Take(5).ToList();
            var results = new ScoredItem[5];
            var answer = recommender.Recommend(user, 5, null, results);

            Assert.Equal(RecommendationSource.Model, answer.Source);
            for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Score, results[i].Score, 1e-4);
            Assert.Equal(expected.Select(e => e.Item).Take(3), results.Take(3).Select(r => r.Item)); // near-ties beyond 3 may swap
        }
    }

    [Fact]
    public void A_full_neighbour_row_keeps_its_heaviest_item_and_replaces_the_lightest_with_each_newcomer()
    {
        // Twenty users: item 1 co-occurs with item 2 five times, with 3 four times, then once each with 4..9; two neighbours fit:
        // 4 replaces 3 (the lighter), then each newcomer replaces the previous one, and 2 stays throughout.
        var recommender = new ItemKnnRecommender(new ItemKnnOptions { MaxNeighbours = 2, CoOccurrenceWindow = 10, ProfileHalfLife = null });
        var time = RandomInteractions.Start;
        var user = 0;
        void Pair(long other) { recommender.Update(new Interaction(user, 1, time += 1000)); recommender.Update(new Interaction(user++, other, time += 1000)); }
        for (var i = 0; i < 5; i++) Pair(2);
        for (var i = 0; i < 4; i++) Pair(3);
        for (var other = 4; other <= 9; other++) Pair(other);
        for (var i = 0; i < 5; i++) Pair(2);
        Assert.Equal(10f / MathF.Sqrt(20 * 10), recommender.Similarity(1, 2), 1e-5f);
        Assert.Equal(1f / MathF.Sqrt(20 * 1), recommender.Similarity(1, 9), 1e-5f);
        for (var evicted = 3; evicted <= 8; evicted++) Assert.Equal(0f, recommender.Similarity(1, evicted));
    }
}
