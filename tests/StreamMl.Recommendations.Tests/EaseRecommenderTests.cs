namespace StreamMl.Recommendations.Tests;

/// <summary>EASE against the closed form computed naively, and its refit schedule and hot swap.</summary>
public sealed class EaseRecommenderTests
{
    private const int Items = 30;

    [Fact]
    public void Scores_equal_the_closed_form_x_times_B()
    {
        var events = RandomInteractions.Distinct(seed: 5, users: 50, items: Items, events: 500);
        var recommender = new EaseRecommender(new EaseOptions { Lambda = 20, RefitEveryEvents = 0, ProfileHalfLife = null, ProfileCapacity = 1000 });
        RandomInteractions.Feed(recommender, events);
        recommender.Refit();
        var (x, users) = RandomInteractions.Matrix(events, Items);
        var b = NaiveLinearAlgebra.Ease(x, 20);

        foreach (var user in users.Take(15))
        {
            var u = users.IndexOf(user);
            var expected = Enumerable.Range(0, Items).Where(c => x[u, c] == 0)
                .Select(c => (Item: (long)(c + 1), Score: Enumerable.Range(0, Items).Sum(j => x[u, j] * b[j, c])))
                .Where(s => events.Any(e => e.Item == s.Item)) // items never seen are not in the catalogue
                .OrderByDescending(s => s.Score).ToList();
            var results = new ScoredItem[Items];
            var answer = recommender.Recommend(user, Items, null, results);

            Assert.Equal(RecommendationSource.Model, answer.Source);
            Assert.Equal(expected.Count, answer.Count);
            var byItem = expected.ToDictionary(e => e.Item, e => e.Score);
            foreach (var r in results.Take(answer.Count)) Assert.Equal(byItem[r.Item], r.Score, 1e-4);
            Assert.Equal(expected[0].Item, results[0].Item);
        }
    }

    [Fact]
    public void Before_the_first_fit_the_answer_is_popularity_and_says_so()
    {
        var recommender = new EaseRecommender(new EaseOptions { RefitEveryEvents = 0 });
        RandomInteractions.Feed(recommender, RandomInteractions.Distinct(seed: 6, users: 5, items: 10, events: 20));
        var results = new ScoredItem[3];
        Assert.Equal(RecommendationSource.PopularityModelNotReady, recommender.Recommend(1000, 3, null, results).Source);
        recommender.Refit();
        Assert.Equal(RecommendationSource.Model, recommender.Recommend(1000, 3, null, results).Source);
    }

    [Fact]
    public async Task A_background_refit_is_swapped_in_while_updates_and_queries_go_on()
    {
        var recommender = new EaseRecommender(new EaseOptions { RefitEveryEvents = 200, BackgroundRefit = true, Lambda = 10 });
        var events = RandomInteractions.Distinct(seed: 8, users: 60, items: 300, events: 2000);
        var results = new ScoredItem[10];
        var catalog = new HashSet<long>();
        var seen = new Dictionary<long, HashSet<long>>();
        var answered = 0;
        foreach (var e in events)
        {
            recommender.Update(e);
            catalog.Add(e.Item);
            var mine = seen.TryGetValue(e.User, out var set) ? set : seen[e.User] = [];
            mine.Add(e.Item);
            // Every query gets a full answer (10, or every unseen item) whether a refit is running or not.
            if (recommender.Recommend(e.User, 10, null, results).Count == Math.Min(10, catalog.Count - mine.Count)) answered++;
        }
        await Eventually.TrueAsync(() => recommender.Refits >= 1 && recommender.PendingRefit.IsCompleted, "a background refit to finish",
            seen: () => $"{recommender.Refits} refits, error {recommender.LastRefitError?.Message}");
        Assert.Null(recommender.LastRefitError);
        Assert.Equal(events.Count, answered);
        Assert.True(recommender.ModelItems > 0);
        Assert.Equal(RecommendationSource.Model, recommender.Recommend(events[0].User, 10, null, results).Source);
    }

    [Fact]
    public void The_model_covers_only_the_most_common_items_when_the_catalogue_is_larger_than_MaxModelItems()
    {
        var events = RandomInteractions.Distinct(seed: 9, users: 40, items: 50, events: 600);
        var recommender = new EaseRecommender(new EaseOptions { MaxModelItems = 10, RefitEveryEvents = 0, ProfileCapacity = 1000 });
        RandomInteractions.Feed(recommender, events);
        recommender.Refit();
        Assert.Equal(10, recommender.ModelItems);
        var top = events.GroupBy(e => e.Item).OrderByDescending(g => g.Count()).ThenBy(g => events.FindIndex(e => e.Item == g.Key))
            .Take(10).Select(g => g.Key).ToHashSet();
        var results = new ScoredItem[10];
        var answer = recommender.Recommend(1000, 10, new RecommendRequest { ExcludeSeen = false }, results);
        // Covered items rank before uncovered ones, so a full list of 10 is exactly the covered set.
        Assert.Equal(10, answer.Count);
        Assert.Equal(top, results.Select(r => r.Item).ToHashSet());
    }
}
