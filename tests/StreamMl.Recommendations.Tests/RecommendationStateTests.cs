using StreamMl.Engine;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Recommendations.Tests;

/// <summary>The library's recommendation state without the host: string ids, checkpoints that carry models, id maps and
/// the A/B test's online metrics, and the replay of rows a checkpoint already holds.</summary>
public sealed class RecommendationStateTests
{
    private static readonly Schema Interactions = new(new Field("user", ColumnType.String), new Field("sku", ColumnType.String), new Field("ts", ColumnType.Int64));

    private static RecommendationState Create(int maxUsers = 1_000, int maxItems = 1_000)
    {
        var knn = new ItemKnnRecommender(new ItemKnnOptions { MaxNeighbours = 8, CoOccurrenceWindow = 5, ProfileCapacity = 12 });
        var pop = new PopularityRecommender();
        var state = new RecommendationState(
            new InteractionColumns { User = "user", Item = "sku", Time = "ts", MaxUserIds = maxUsers, MaxItemIds = maxItems },
            [new NamedRecommender("knn", knn), new NamedRecommender("pop", pop)],
            [new RecommendationVariant("A", knn, 1), new RecommendationVariant("B", pop, 1)]);
        state.Bind(Interactions);
        return state;
    }

    /// <summary>Events of 30 users (u0..u29) over 40 SKUs, as (user, sku, time, offset) on partition 0.</summary>
    private static List<(string User, string Sku, long Time)> Events(int seed, int count)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => ($"u{random.Next(30)}", $"sku-{(int)(40 * Math.Pow(random.NextDouble(), 2))}", RandomInteractions.Start + i * 1_000_000L))];
    }

    private static ColumnBatch Batch(List<(string User, string Sku, long Time)> events, int from, int count)
    {
        var batch = new ColumnBatch(Interactions, Math.Max(count, 1));
        for (var row = 0; row < count; row++)
        {
            var (user, sku, time) = events[from + row];
            batch[0].Values<int>()[row] = batch[0].Dictionary!.GetOrAdd(user);
            batch[1].Values<int>()[row] = batch[1].Dictionary!.GetOrAdd(sku);
            batch[2].Values<long>()[row] = time;
            batch.RowPartitionsBuffer[row] = 0;
            batch.RowOffsetsBuffer[row] = from + row;
        }
        batch.Length = count;
        return batch;
    }

    private static void Learn(RecommendationState state, List<(string, string, long)> events, int from, int to, int batchSize = 25)
    {
        for (var start = from; start < to; start += batchSize)
        {
            using var batch = Batch(events, start, Math.Min(batchSize, to - start));
            state.Learn(batch, StageContext.Standalone("recommend"), positionsAreStable: true);
        }
    }

    /// <summary>Serves every user u0..u34 (u30..u34 unknown) once, and returns the answers with item names.</summary>
    private static string Serve(RecommendationState state)
    {
        var results = new ScoredItem[5];
        var lines = new List<string>();
        for (var user = 0; user < 35; user++)
        {
            var served = state.Recommend($"u{user}", 5, null, results);
            lines.Add($"u{user} {state.Server.Variants[served.Variant].Name} {served.Result.Source}: " +
                string.Join(",", results.Take(served.Result.Count).Select(r => $"{state.ItemName(r.Item)}={r.Score:R}")));
        }
        return string.Join("\n", lines);
    }

    private static string Metrics(RecommendationState state) =>
        string.Join("\n", state.Server.Summarize().Variants.Select(v => v.ToString()));

    [Fact]
    public void A_restored_checkpoint_continues_models_id_maps_and_the_ab_test_exactly_like_an_uninterrupted_run()
    {
        var events = Events(seed: 5, count: 900);
        var uninterrupted = Create();
        var crashed = Create();
        foreach (var state in new[] { uninterrupted, crashed })
        {
            Learn(state, events, 0, 400);
            Serve(state);
            Learn(state, events, 400, 500); // feedback to the impressions: clicks and hits
        }
        using var checkpoint = new MemoryStream();
        crashed.WriteCheckpoint(checkpoint);
        // The crashed process had learnt more before it died; its source had committed only up to offset 300, so
        // rows 300..599 are replayed to the restored state.
        Learn(crashed, events, 500, 600);

        var restored = Create();
        checkpoint.Position = 0;
        restored.RestoreCheckpoint(checkpoint);
        Assert.Equal(Metrics(uninterrupted), Metrics(restored));
        Learn(restored, events, 300, 600);
        Assert.Equal(200, restored.ReplayedRowsSkipped);
        Learn(uninterrupted, events, 500, 600);

        Assert.Equal(Serve(uninterrupted), Serve(restored));
        Learn(uninterrupted, events, 600, 900);
        Learn(restored, events, 600, 900);
        Assert.Equal(Serve(uninterrupted), Serve(restored));
        Assert.Equal(Metrics(uninterrupted), Metrics(restored));
        var summary = restored.Server.Summarize();
        // Three rounds of 35 users, each user in one variant; the restored run counts the rounds before the checkpoint too.
        Assert.Equal((35L, 105L), (summary.Variants.Sum(v => v.Users), summary.Variants.Sum(v => v.Impressions)));
        Assert.All(summary.Variants, v => Assert.True(v.ClickThrough.Successes > 0 && v.HitRate.Trials > 0, v.ToString()));
        Assert.Equal(900, restored.Models[0].Recommender.Stats.Events);
    }

    [Fact]
    public void A_checkpoint_of_other_models_or_variants_is_refused_saying_what_differs()
    {
        var state = Create();
        Learn(state, Events(1, 50), 0, 50);
        using var checkpoint = new MemoryStream();
        state.WriteCheckpoint(checkpoint);
        var knn = new ItemKnnRecommender();
        var other = new RecommendationState(new InteractionColumns { User = "user", Item = "sku" },
            [new NamedRecommender("knn", knn), new NamedRecommender("ease", new EaseRecommender())], [new RecommendationVariant("A", knn, 1)]);
        checkpoint.Position = 0;
        var error = Assert.Throws<InvalidDataException>(() => other.RestoreCheckpoint(checkpoint));
        Assert.Equal("its model 2 is 'pop' where 'ease' was expected", error.Message);

        var path = Path.Combine(Path.GetTempPath(), $"streamml-recstate-{Guid.NewGuid():N}", "recs.snapshot");
        try
        {
            state.WriteCheckpoint(path);
            var twoVariantsRenamed = new RecommendationState(new InteractionColumns { User = "user", Item = "sku" },
                [new NamedRecommender("knn", knn), new NamedRecommender("pop", new PopularityRecommender())], [new RecommendationVariant("C", knn, 1)]);
            var refused = Assert.Throws<StreamMlException>(() => twoVariantsRenamed.TryRestoreCheckpoint(path));
            Assert.Equal($"recommend checkpoint '{path}' cannot be restored: its A/B variants are A, B and this server's are C. Delete it to start the models afresh.", refused.Message);
            Assert.False(Create().TryRestoreCheckpoint(path + ".missing"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void String_users_and_items_round_trip_and_a_full_id_map_sends_new_ones_to_dead_letters()
    {
        var state = Create(maxUsers: 3, maxItems: 4);
        List<(string, string, long)> events =
        [
            ("ann", "sku-a", 1), ("bob", "sku-b", 2), ("ann", "sku-c", 3), ("cy", "sku-a", 4),
            ("dee", "sku-a", 5), // a fourth user: the map is full
            ("bob", "sku-d", 6), ("bob", "sku-e", 7), // a fifth item: full
        ];
        var deadLetters = new CollectingDeadLetterSink();
        using (var batch = Batch(events, 0, events.Count))
        {
            var context = StageContext.Standalone("recommend", deadLetters);
            state.Learn(batch, context, positionsAreStable: false);
            Assert.Equal(2, context.RowsRejected);
        }
        Assert.Equal(5, state.Interactions.Rows);
        Assert.Equal(
            ["the user 'dee' is new and the user id map is full (3 users); raise its bound or start afresh",
             "the item 'sku-e' is new and the item id map is full (4 items); raise its bound or start afresh"],
            deadLetters.Letters.Select(l => l.Message));

        // Popularity: sku-a (ann, cy) first; bob has seen sku-b and sku-d.
        var results = new ScoredItem[4];
        var served = state.Recommend("bob", 4, null, results, variant: state.Server.IndexOf("B"));
        Assert.Equal(["sku-a", "sku-c"], results.Take(served.Result.Count).Select(r => state.ItemName(r.Item)));
        var onlyC = new RecommendRequest { AllowedItems = new HashSet<long> { state.ItemId("sku-c") } };
        served = state.Recommend("bob", 4, onlyC, results, variant: state.Server.IndexOf("B"));
        Assert.Equal("sku-c", state.ItemName(Assert.Single(results.Take(served.Result.Count)).Item));
        Assert.Equal("item 'sku-zz' is unknown: no interaction has named it", Assert.Throws<ArgumentException>(() => state.ItemId("sku-zz")).Message);
        // A string user is assigned by the hash of the name, as a scoring split keyed by the same column would.
        foreach (var user in new[] { "ann", "bob", "cy", "zed" })
            Assert.Equal(state.Server.Split.Assign(user), state.Recommend(user, 1, null, results).Variant);
        // The user map is full: a new user is still served, from the fallback.
        Assert.Equal(RecommendationSource.PopularityUnknownUser, state.Recommend("zed", 2, null, results).Result.Source);
    }

    [Fact]
    public void Numeric_id_columns_parse_names_and_refuse_words()
    {
        var pop = new PopularityRecommender();
        var state = new RecommendationState(new InteractionColumns(), [new NamedRecommender("pop", pop)], [new RecommendationVariant("A", pop, 1)]);
        state.Bind(new Schema(new Field("user", ColumnType.Int64), new Field("item", ColumnType.Int64)));
        Assert.Equal(42, state.ItemId("42"));
        Assert.Equal("42", state.ItemName(42));
        Assert.Equal("item 'x1' is not a number, and the pipeline's item column holds numbers", Assert.Throws<ArgumentException>(() => state.ItemId("x1")).Message);
        Assert.Equal("user 'ann' is not a number, and the pipeline's user column holds numbers",
            Assert.Throws<ArgumentException>(() => state.Recommend("ann", 1, null, new ScoredItem[1])).Message);
    }
}
