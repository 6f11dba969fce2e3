using System.Collections;

namespace StreamMl.Recommendations.Tests;

/// <summary>Queries run side by side: one that is held up inside the model (here by an allowed-items set that blocks
/// while it is read) does not hold up the others, and answers on several threads at once equal the answers given one at
/// a time (each thread has its own scratch buffers).</summary>
public sealed class ConcurrentQueryTests
{
    public static TheoryData<string> Models => ["popularity", "itemknn", "ease"];

    private static IRecommender Trained(string model)
    {
        IRecommender recommender = model switch
        {
            "popularity" => new PopularityRecommender(),
            "itemknn" => new ItemKnnRecommender(),
            _ => new EaseRecommender(new EaseOptions { RefitEveryEvents = 0, Lambda = 10 }),
        };
        RandomInteractions.Feed(recommender, RandomInteractions.Distinct(seed: 8, users: 40, items: 60, events: 900));
        (recommender as EaseRecommender)?.Refit();
        return recommender;
    }

    [Theory, MemberData(nameof(Models))]
    public async Task A_query_held_up_inside_the_model_does_not_hold_up_other_queries(string model)
    {
        var recommender = Trained(model);
        using var blocking = new BlockingItemSet([1, 2, 3]);
        var held = Task.Run(() => recommender.Recommend(1000, 3, new RecommendRequest { AllowedItems = blocking }, new ScoredItem[3]));
        Assert.True(blocking.Entered.Wait(TimeSpan.FromSeconds(10)), "the first query never reached the allowed-items set");

        var other = Task.Run(() => recommender.Recommend(1001, 5, null, new ScoredItem[5]));
        var answeredWhileHeld = await Task.WhenAny(other, Task.Delay(TimeSpan.FromSeconds(10))) == other;
        var firstStillHeld = !held.IsCompleted;
        blocking.Release.Set();

        Assert.True(answeredWhileHeld, "a second query waited for the first one");
        Assert.True(firstStillHeld);
        Assert.Equal(5, (await other).Count);
        await held.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory, MemberData(nameof(Models))]
    public void Answers_on_four_threads_at_once_equal_the_answers_one_at_a_time(string model)
    {
        var recommender = Trained(model);
        var users = Enumerable.Range(1000, 40).ToArray();
        var expected = users.ToDictionary(u => u, u => Answer(recommender, u));

        var mismatches = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, thread =>
        {
            for (var round = 0; round < 50; round++)
                foreach (var user in users)
                    if (!Answer(recommender, user).SequenceEqual(expected[user])) Interlocked.Increment(ref mismatches);
        });
        Assert.Equal(0, mismatches);
    }

    private static ScoredItem[] Answer(IRecommender recommender, long user)
    {
        var results = new ScoredItem[10];
        var count = recommender.Recommend(user, 10, null, results).Count;
        return results[..count];
    }

    /// <summary>An allowed-items set whose enumeration signals <see cref="Entered"/>, then blocks until <see cref="Release"/>.</summary>
    private sealed class BlockingItemSet(long[] items) : IReadOnlySet<long>, IDisposable
    {
        private readonly HashSet<long> _items = [.. items];

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public int Count => _items.Count;

        public IEnumerator<long> GetEnumerator()
        {
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(30));
            return _items.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public bool Contains(long item) => _items.Contains(item);

        public bool IsProperSubsetOf(IEnumerable<long> other) => _items.IsProperSubsetOf(other);

        public bool IsProperSupersetOf(IEnumerable<long> other) => _items.IsProperSupersetOf(other);

        public bool IsSubsetOf(IEnumerable<long> other) => _items.IsSubsetOf(other);

        public bool IsSupersetOf(IEnumerable<long> other) => _items.IsSupersetOf(other);

        public bool Overlaps(IEnumerable<long> other) => _items.Overlaps(other);

        public bool SetEquals(IEnumerable<long> other) => _items.SetEquals(other);

        public void Dispose()
        {
            Release.Set();
            Entered.Dispose();
            Release.Dispose();
        }
    }
}
