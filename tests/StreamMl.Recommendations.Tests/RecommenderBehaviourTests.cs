namespace StreamMl.Recommendations.Tests;

/// <summary>Bad and awkward input, the same for every model: cold start, unknown items, late and duplicate events,
/// a very active user, k out of range, filters and business rules.</summary>
public sealed class RecommenderBehaviourTests
{
    public static TheoryData<string> Models => ["popularity", "itemknn", "ease"];

    private static Recommender Create(string model, int profileCapacity = 200, int maxItems = 1_000_000) => model switch
    {
        "popularity" => new PopularityRecommender(new RecommenderOptions { ProfileCapacity = profileCapacity, MaxItems = maxItems }),
        "itemknn" => new ItemKnnRecommender(new ItemKnnOptions { ProfileCapacity = profileCapacity, MaxItems = maxItems }),
        _ => new EaseRecommender(new EaseOptions { ProfileCapacity = profileCapacity, MaxItems = maxItems, RefitEveryEvents = 0, Lambda = 5 }),
    };

    private static Recommender Trained(string model, int seed = 11)
    {
        var recommender = Create(model);
        RandomInteractions.Feed(recommender, RandomInteractions.Distinct(seed, users: 30, items: 20, events: 250));
        (recommender as EaseRecommender)?.Refit();
        return recommender;
    }

    [Theory, MemberData(nameof(Models))]
    public void An_unknown_user_gets_the_popular_items_and_the_answer_says_so(string model)
    {
        var recommender = Trained(model);
        var popular = new ScoredItem[5];
        Assert.Equal(0, new PopularityRecommender().Recommend(0, 1, null, new ScoredItem[1]).Count); // empty: nothing, no error
        var results = new ScoredItem[5];
        var answer = recommender.Recommend(userId: -42, results);

        Assert.Equal(RecommendationSource.PopularityUnknownUser, answer.Source);
        Assert.True(answer.IsFallback);
        var reference = Create("popularity");
        RandomInteractions.Feed(reference, RandomInteractions.Distinct(11, users: 30, items: 20, events: 250));
        reference.Recommend(-42, 5, null, popular);
        Assert.Equal(popular.Select(p => p.Item), results.Select(r => r.Item));
    }

    [Theory, MemberData(nameof(Models))]
    public void A_duplicate_event_is_dropped_and_counted(string model)
    {
        var recommender = Trained(model);
        var before = Answer(recommender, 1005);
        var stats = recommender.Stats;
        var anEvent = RandomInteractions.Distinct(11, users: 30, items: 20, events: 250)[17];
        recommender.Update(anEvent);
        (recommender as EaseRecommender)?.Refit();

        Assert.Equal(stats.Duplicates + 1, recommender.Stats.Duplicates);
        Assert.Equal(stats.Applied, recommender.Stats.Applied);
        Assert.Equal(before, Answer(recommender, 1005));
    }

    [Theory, MemberData(nameof(Models))]
    public void An_event_older_than_the_newest_minus_MaxLateness_is_dropped_and_counted_and_a_slightly_late_one_applies(string model)
    {
        var recommender = Trained(model);
        var newest = RandomInteractions.Start + 249 * 1_000_000L;
        var stats = recommender.Stats;
        recommender.Update(new Interaction(1001, 3, newest - (long)TimeSpan.FromDays(31).TotalMicroseconds));
        Assert.Equal(stats.Late + 1, recommender.Stats.Late);
        Assert.Equal(stats.Applied, recommender.Stats.Applied);

        recommender.Update(new Interaction(5555, 3, newest - (long)TimeSpan.FromDays(1).TotalMicroseconds));
        Assert.Equal(stats.Applied + 1, recommender.Stats.Applied);
        var results = new ScoredItem[20];
        var answer = recommender.Recommend(5555, 20, null, results);
        Assert.DoesNotContain(3L, results.Take(answer.Count).Select(r => r.Item)); // now seen
    }

    [Theory, MemberData(nameof(Models))]
    public void A_new_item_joins_the_catalogue_and_a_full_catalogue_rejects_further_items(string model)
    {
        var recommender = Create(model, maxItems: 3);
        for (var item = 1; item <= 5; item++) recommender.Update(new Interaction(1, item, RandomInteractions.Start + item));
        Assert.Equal(3, recommender.Stats.Items);
        Assert.Equal(2, recommender.Stats.RejectedItems);
        var results = new ScoredItem[10];
        var answer = recommender.Recommend(2, 10, null, results);
        Assert.Equal([1L, 2L, 3L], results.Take(answer.Count).Select(r => r.Item).Order());
    }

    [Theory, MemberData(nameof(Models))]
    public void A_user_with_100000_events_holds_at_most_ProfileCapacity_items(string model)
    {
        var recommender = Create(model, profileCapacity: 50);
        var random = new Random(12);
        for (var i = 0; i < 100_000; i++) recommender.Update(new Interaction(7, random.Next(5_000), RandomInteractions.Start + i * 1000L));

        // Seen items excluded are exactly the 50 held: the catalogue minus 50 items is eligible.
        var results = new ScoredItem[5_000];
        var answer = recommender.Recommend(7, 5_000, new RecommendRequest(), results);
        Assert.Equal(recommender.Stats.Items - 50, answer.Count);
        Assert.Equal(100_000, recommender.Stats.Events);
    }

    [Theory, MemberData(nameof(Models))]
    public void K_below_one_or_beyond_the_span_is_a_clear_error_and_a_huge_k_returns_every_eligible_item(string model)
    {
        var recommender = Trained(model);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => recommender.Recommend(1001, 0, null, new ScoredItem[1]));
        Assert.Contains("k must be at least 1", zero.Message);
        var tooSmall = Assert.Throws<ArgumentException>(() => recommender.Recommend(1001, 5, null, new ScoredItem[2]));
        Assert.Contains("fewer than k = 5", tooSmall.Message);

        var results = new ScoredItem[1_000_000];
        var answer = recommender.Recommend(-1, 1_000_000, null, results);
        Assert.Equal(recommender.Stats.Items, answer.Count);
        Assert.Equal(answer.Count, results.Take(answer.Count).Select(r => r.Item).Distinct().Count());
    }

    [Theory, MemberData(nameof(Models))]
    public void Filters_allowed_items_category_boost_bury_and_seen_items(string model)
    {
        var recommender = Create(model);
        var events = RandomInteractions.Distinct(13, users: 30, items: 20, events: 250)
            .Select(e => e with { Category = (int)(e.Item % 3) }).ToList();
        RandomInteractions.Feed(recommender, events);
        (recommender as EaseRecommender)?.Refit();
        var user = events[0].User;
        var seen = events.Where(e => e.User == user).Select(e => e.Item).ToHashSet();
        var results = new ScoredItem[20];

        var plain = results.AsSpan(0, recommender.Recommend(user, 20, null, results).Count).ToArray();
        Assert.DoesNotContain(plain, r => seen.Contains(r.Item));
        Assert.Equal(plain.OrderByDescending(r => r.Score).Select(r => r.Score), plain.Select(r => r.Score));

        var withSeen = recommender.Recommend(user, 20, new RecommendRequest { ExcludeSeen = false }, results).Count;
        Assert.Equal(plain.Length + seen.Count, withSeen);

        var allowed = new HashSet<long> { 1, 2, 3, 999_999 };
        var onlyAllowed = results.AsSpan(0, recommender.Recommend(user, 20, new RecommendRequest { AllowedItems = allowed }, results).Count).ToArray();
        Assert.Equal(allowed.Where(i => i <= 20 && !seen.Contains(i)).Order(), onlyAllowed.Select(r => r.Item).Order());

        var category = results.AsSpan(0, recommender.Recommend(user, 20, new RecommendRequest { Category = 2 }, results).Count).ToArray();
        Assert.Equal(plain.Where(r => r.Item % 3 == 2).Select(r => r.Item), category.Select(r => r.Item));

        var last = plain[^1].Item;
        var first = plain[0].Item;
        var ruled = results.AsSpan(0, recommender.Recommend(user, 20,
            new RecommendRequest { Boosts = new Dictionary<long, float> { [last] = 1e6f, [first] = -1e6f } }, results).Count).ToArray();
        Assert.Equal(last, ruled[0].Item);
        Assert.Equal(first, ruled[^1].Item);
        Assert.Equal(plain[^1].Score + 1e6f, ruled[0].Score);
    }

    private static string Answer(IRecommender recommender, long user)
    {
        var results = new ScoredItem[10];
        var answer = recommender.Recommend(user, 10, null, results);
        return $"{answer.Source}:" + string.Join(",", results.Take(answer.Count).Select(r => $"{r.Item}={r.Score:R}"));
    }
}

internal static class RecommenderTestExtensions
{
    public static RecommendResult Recommend(this IRecommender recommender, long userId, ScoredItem[] results) =>
        recommender.Recommend(userId, results.Length, null, results);
}
