namespace StreamMl.Recommendations.Tests;

/// <summary>The update and serving paths allocate nothing once users, items and neighbour rows have warmed up.</summary>
public sealed class AllocationTests
{
    private static (long[] Users, long[] Items, long[] Times) Stream(int seed, int events, long start)
    {
        var random = new Random(seed);
        var users = new long[events];
        var items = new long[events];
        var times = new long[events];
        for (var i = 0; i < events; i++)
        {
            users[i] = random.Next(100);
            items[i] = (long)(200 * Math.Pow(random.NextDouble(), 2));
            times[i] = start + i * 1000L;
        }
        return (users, items, times);
    }

    public static TheoryData<string> Models => ["popularity", "itemknn", "ease"];

    [Theory, MemberData(nameof(Models))]
    public void Updates_and_recommendations_allocate_nothing_in_steady_state(string model)
    {
        IRecommender recommender = model switch
        {
            "popularity" => new PopularityRecommender(new RecommenderOptions { ProfileCapacity = 20 }),
            "itemknn" => new ItemKnnRecommender(new ItemKnnOptions { ProfileCapacity = 20, MaxNeighbours = 16 }),
            _ => new EaseRecommender(new EaseOptions { ProfileCapacity = 20, RefitEveryEvents = 0, Lambda = 10 }),
        };
        var warm = Stream(1, 50_000, RandomInteractions.Start);
        recommender.Update(new InteractionBatch(warm.Users, warm.Items, warm.Times));
        (recommender as EaseRecommender)?.Refit();
        var results = new ScoredItem[10];
        for (var user = 0; user < 100; user++) recommender.Recommend(user, 10, null, results);

        var streams = new List<(long[] Users, long[] Items, long[] Times)>();
        var start = warm.Times[^1] + 1000;
        for (var i = 0; i < 5; i++)
        {
            var measured = Stream(2 + i, 20_000, start);
            streams.Add(measured);
            start = measured.Times[^1] + 1000;
        }
        var applied = 0;
        var updates = SteadyState.AllocatedBytes(() =>
        {
            var (users, items, times) = streams[applied++];
            recommender.Update(new InteractionBatch(users, items, times));
        }, 1, streams.Count);
        var queries = SteadyState.AllocatedBytes(() => { for (var user = 0; user < 100; user++) recommender.Recommend(user, 10, null, results); }, 1);

        Assert.Equal(applied * 20_000, recommender.Stats.Events - 50_000);
        Assert.Equal(0, updates);
        Assert.Equal(0, queries);
    }
}
