namespace StreamMl.Recommendations.Tests;

/// <summary>A restart resumes exactly: snapshot, restore into a new instance, identical answers now and after more events.</summary>
public sealed class SnapshotRestoreTests
{
    public static TheoryData<string> Models => ["popularity", "itemknn", "ease"];

    private static Recommender Create(string model) => model switch
    {
        "popularity" => new PopularityRecommender(),
        "itemknn" => new ItemKnnRecommender(new ItemKnnOptions { MaxNeighbours = 8, CoOccurrenceWindow = 5, ProfileCapacity = 12 }),
        _ => new EaseRecommender(new EaseOptions { RefitEveryEvents = 150, BackgroundRefit = false, Lambda = 10, ProfileCapacity = 12 }),
    };

    [Theory, MemberData(nameof(Models))]
    public void A_restored_recommender_answers_exactly_like_the_snapshotted_one(string model)
    {
        var events = RandomInteractions.Distinct(seed: 21, users: 40, items: 60, events: 900);
        var original = Create(model);
        RandomInteractions.Feed(original, events.Take(600));
        using var snapshot = new MemoryStream();
        original.Snapshot(snapshot);

        var restored = Create(model);
        snapshot.Position = 0;
        restored.Restore(snapshot);

        Assert.Equal(original.Stats, restored.Stats);
        Assert.Equal(Answers(original), Answers(restored));
        // ... and they stay identical as both keep learning (EASE refits at the same events).
        RandomInteractions.Feed(original, events.Skip(600));
        RandomInteractions.Feed(restored, events.Skip(600));
        Assert.Equal(Answers(original), Answers(restored));
        Assert.Contains(RecommendationSource.Model.ToString(), Answers(restored));
    }

    [Fact]
    public void A_snapshot_of_another_model_is_refused_with_a_clear_message()
    {
        using var snapshot = new MemoryStream();
        new PopularityRecommender().Snapshot(snapshot);
        snapshot.Position = 0;
        var error = Assert.Throws<StreamMl.Engine.StreamMlException>(() => new ItemKnnRecommender().Restore(snapshot));
        Assert.Equal("cannot restore the 'itemknn' recommender: it holds a 'popularity' model, this recommender is 'itemknn'", error.Message);
    }

    private static string Answers(IRecommender recommender)
    {
        var lines = new List<string>();
        var results = new ScoredItem[10];
        for (var user = 995; user < 1045; user++) // includes unknown users
        {
            var answer = recommender.Recommend(user, 10, null, results);
            lines.Add($"{user} {answer.Source}: " + string.Join(",", results.Take(answer.Count).Select(r => $"{r.Item}={r.Score:R}")));
        }
        return string.Join("\n", lines);
    }
}
