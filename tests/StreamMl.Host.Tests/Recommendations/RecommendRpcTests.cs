using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>Recommend and RecommendStream through a real gRPC client against a started host: answers from the live
/// profile, the score role, the A/B split and override, cold start, metrics and bad input.</summary>
[Collection(HostCollection.Name)]
public sealed class RecommendRpcTests(HostFixture host)
{
    internal static string Spec(string name) => $$"""
        name: {{name}}
        options: { batch_capacity: 64, ring_size: 4, flush_interval: 100ms }
        source:
          kind: grpc
          columns: { user: int64, item: int64, rating: float32, ts: int64 }
        recommend:
          user: user
          item: item
          weight: rating
          time: ts
          k: 5
          max_k: 500
          models:
            - { name: pop, kind: popularity }
            - { name: knn, kind: itemknn, neighbours: 50 }
          variants:
            - { name: A, model: knn, weight: 50 }
            - { name: B, model: pop, weight: 50 }
        """;

    /// <summary>Users 1..30 each rate 8 of 60 items, in time order.</summary>
    internal static RowSet Interactions(int seed = 3)
    {
        var random = new Random(seed);
        var rows = new RowSet();
        rows.Columns.AddRange(["user", "item", "rating", "ts"]);
        var ts = 1_000_000_000_000L;
        for (var user = 1; user <= 30; user++)
            for (var i = 0; i < 8; i++)
                rows.Rows.Add(Row(user, (user * 3 + random.Next(0, 20)) % 60, 1 + random.Next(5), ts += 1_000_000));
        return rows;
    }

    internal static Row Row(long user, long item, double rating, long ts)
    {
        var row = new Row();
        row.Values.Add(new Value { Integer = user });
        row.Values.Add(new Value { Integer = item });
        row.Values.Add(new Value { Number = rating });
        row.Values.Add(new Value { Integer = ts });
        return row;
    }

    private Protos.Recommendations.RecommendationsClient Client(string? key = HostFixture.ScoreKey) => new(host.Channel(key));

    private async Task<string> CreateAsync(string name, RowSet rows)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec(name), Start = true, Replace = true });
        await IngestAsync(name, rows);
        return name;
    }

    private async Task IngestAsync(string name, RowSet rows)
    {
        var expected = host.Pipelines.Get(name).Runtime.Recommend!.Interactions.Rows + rows.Rows.Count;
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = rows });
            await ingest.RequestStream.CompleteAsync();
            await ingest.ResponseAsync;
        }
        var state = host.Pipelines.Get(name).Runtime.Recommend!;
        await Eventually.TrueAsync(() => state.Interactions.Rows >= expected, $"the recommend stage to learn from {expected} rows",
            seen: () => $"{state.Interactions.Rows} rows");
    }

    [Fact]
    public async Task An_ingested_event_is_reflected_in_the_next_request()
    {
        var name = await CreateAsync("rec-live", Interactions());
        var client = Client();
        var before = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 7, K = 5, Variant = "A" });
        Assert.Equal("A", before.Variant);
        Assert.Equal("itemknn", before.Model);
        Assert.False(before.Fallback);
        Assert.Equal("model", before.Source);
        Assert.Equal(5, before.Items.Count);
        var top = before.Items[0].Item;

        // User 7 now interacts with its top item: excluded as seen from the next answer on.
        await IngestAsync(name, new RowSet { Columns = { "user", "item", "rating", "ts" }, Rows = { Row(7, top, 5, 2_000_000_000_000L) } });
        var after = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 7, K = 5, Variant = "A" });
        Assert.DoesNotContain(after.Items, i => i.Item == top);
        var withSeen = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 7, K = 60, Variant = "A", IncludeSeen = true });
        Assert.Contains(withSeen.Items, i => i.Item == top);
    }

    [Fact]
    public async Task A_new_user_gets_the_popularity_fallback_and_learns_from_the_first_event()
    {
        var name = await CreateAsync("rec-cold", Interactions());
        var client = Client();
        var cold = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 999, Variant = "A" });
        Assert.True(cold.Fallback);
        Assert.Equal("unknown-user", cold.Source);
        Assert.Equal(5, cold.Items.Count); // the spec's default k
        await IngestAsync(name, new RowSet { Columns = { "user", "item", "rating", "ts" }, Rows = { Row(999, cold.Items[0].Item, 4, 2_000_000_000_000L) } });
        var warm = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 999, Variant = "A" });
        Assert.False(warm.Fallback);
        Assert.DoesNotContain(warm.Items, i => i.Item == cold.Items[0].Item);
    }

    [Fact]
    public async Task Users_meet_the_variant_of_their_hash_and_filters_apply()
    {
        var name = await CreateAsync("rec-ab", Interactions());
        var client = Client();
        var state = host.Pipelines.Get(name).Runtime.Recommend!;
        var byVariant = new Dictionary<string, int>();
        for (var user = 1; user <= 30; user++)
        {
            var answer = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = user });
            Assert.Equal(state.Server.Variants[state.Server.Split.Assign(user)].Name, answer.Variant);
            Assert.Equal(answer.Variant == "A" ? "itemknn" : "popularity", answer.Model);
            byVariant[answer.Variant] = byVariant.GetValueOrDefault(answer.Variant) + 1;
        }
        var allowed = new RecommendRequest { Pipeline = name, User = 3, K = 10, Variant = "B" };
        allowed.AllowedItems.AddRange([1, 2, 3, 4, 5, 6, 7, 8]);
        var filtered = await client.RecommendAsync(allowed);
        Assert.Equal("B", filtered.Variant);
        Assert.All(filtered.Items, i => Assert.InRange(i.Item, 1, 8));

        var metrics = await host.Query().GetMetricsAsync(new MetricsRequest { Pipeline = name });
        Assert.Equal(2, metrics.RecommendVariants.Count);
        Assert.Equal(byVariant.GetValueOrDefault("A"), metrics.RecommendVariants[0].Requests);
        Assert.Equal(byVariant.GetValueOrDefault("B") + 1, metrics.RecommendVariants[1].Requests);
        Assert.Single(metrics.RecommendComparisons);
        Assert.True(metrics.RecommendVariants[0].LatencyP99Us > 0 || metrics.RecommendVariants[0].Requests == 0);

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"{host.Server.MetricsAddress}/metrics");
        Assert.Contains($"streamml_recommend_requests_total{{pipeline=\"{name}\",variant=\"B\",model=\"popularity\"}} {metrics.RecommendVariants[1].Requests}", text);
        Assert.Contains($"streamml_recommend_latency_microseconds{{pipeline=\"{name}\",variant=\"B\",model=\"popularity\",quantile=\"0.99\"}}", text);
    }

    [Fact]
    public async Task RecommendStream_answers_each_request_in_order()
    {
        var name = await CreateAsync("rec-stream", Interactions());
        using var call = Client().RecommendStream();
        for (var user = 1; user <= 5; user++)
            await call.RequestStream.WriteAsync(new RecommendRequest { Pipeline = user == 1 ? name : "", User = user, K = 3 });
        await call.RequestStream.CompleteAsync();
        var users = new List<long>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            users.Add(answer.User);
            Assert.Equal(3, answer.Items.Count);
        }
        Assert.Equal([1, 2, 3, 4, 5], users);
    }

    [Fact]
    public async Task Recommend_needs_the_score_role()
    {
        var name = await CreateAsync("rec-auth", Interactions());
        var request = new RecommendRequest { Pipeline = name, User = 1 };
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await Client(HostFixture.ReadKey).RecommendAsync(request));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("score role", denied.Status.Detail);
        var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await Client(null).RecommendAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.NotEmpty((await Client(HostFixture.AdminKey).RecommendAsync(request)).Items);
    }

    [Fact]
    public async Task Bad_requests_get_clear_errors_and_the_host_keeps_serving()
    {
        var name = await CreateAsync("rec-bad", Interactions());
        var client = Client();
        async Task<RpcException> Fails(RecommendRequest request) => await Assert.ThrowsAsync<RpcException>(async () => await client.RecommendAsync(request));

        var zero = await Fails(new RecommendRequest { Pipeline = name, User = 1, K = 0 });
        Assert.Equal(StatusCode.InvalidArgument, zero.StatusCode);
        Assert.Equal("Recommend: k must be between 1 and 500 (the pipeline's recommend.max_k), got 0", zero.Status.Detail);
        var huge = await Fails(new RecommendRequest { Pipeline = name, User = 1, K = int.MaxValue });
        Assert.Equal(StatusCode.InvalidArgument, huge.StatusCode);
        Assert.Contains("got 2147483647", huge.Status.Detail);
        var negative = await Fails(new RecommendRequest { Pipeline = name, User = 1, K = -3 });
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);

        var missing = await Fails(new RecommendRequest { Pipeline = "no-such-recommender", User = 1 });
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("there is no pipeline 'no-such-recommender'", missing.Status.Detail);

        var variant = await Fails(new RecommendRequest { Pipeline = name, User = 1, Variant = "C" });
        Assert.Equal(StatusCode.InvalidArgument, variant.StatusCode);
        Assert.Contains("no variant 'C'; variants: A, B", variant.Status.Detail);

        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("rec-not-a-recommender"), Replace = true });
        var notRecommending = await Fails(new RecommendRequest { Pipeline = "rec-not-a-recommender", User = 1 });
        Assert.Equal(StatusCode.InvalidArgument, notRecommending.StatusCode);
        Assert.Contains("does not recommend: add a 'recommend' section", notRecommending.Status.Detail);

        Assert.Equal(5, (await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = 1 })).Items.Count);
    }

    [Fact]
    public async Task A_recommend_section_with_mistakes_is_refused_with_their_positions()
    {
        var spec = Spec("rec-bad-spec").Replace("model: pop, weight: 50", "model: nope, weight: 50").Replace("kind: itemknn, neighbours: 50", "kind: itemknn, neighbors: 50");
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = spec }));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("variant 'B' serves model 'nope', which 'recommend.models' does not name; models: pop, knn", ex.Status.Detail);
        Assert.Contains("unknown key 'neighbors'", ex.Status.Detail);
        Assert.Matches(@"line \d+", ex.Status.Detail);
    }
}
