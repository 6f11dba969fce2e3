using System.Globalization;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>Per-variant A/B metrics with feedback are reachable through Query.GetMetrics and Prometheus under stable
/// names, with the counts the test expects from the impressions it was served and the interactions it sent.</summary>
[Collection(HostCollection.Name)]
public sealed class RecommendMetricsTests(HostFixture host)
{
    /// <summary>The Prometheus names a dashboard or monitoring report may rely on.</summary>
    public static readonly string[] StableNames =
    [
        "streamml_recommend_requests_total", "streamml_recommend_fallbacks_total", "streamml_recommend_clicks_total",
        "streamml_recommend_resolved_total", "streamml_recommend_hits_total", "streamml_recommend_users",
        "streamml_recommend_click_through_rate", "streamml_recommend_click_through_rate_interval", "streamml_recommend_hit_rate",
        "streamml_recommend_hit_rate_interval", "streamml_recommend_coverage", "streamml_recommend_latency_microseconds",
        "streamml_recommend_ctr_p_value", "streamml_recommend_ctr_z", "streamml_recommend_hit_rate_z", "streamml_recommend_hit_rate_p_value",
    ];

    [Fact]
    public async Task Users_impressions_hits_intervals_and_the_z_test_reach_get_metrics_and_prometheus()
    {
        const string name = "rec-metrics";
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = RecommendRpcTests.Spec(name), Start = true, Replace = true });
        var state = host.Pipelines.Get(name).Runtime.Recommend!;
        await IngestAsync(name, RecommendRpcTests.Interactions(), state);
        var client = new Protos.Recommendations.RecommendationsClient(host.Channel(HostFixture.ScoreKey));

        // Users 1..30 are served once (user 5 twice); even users then take their first recommended item (a hit and a
        // click), odd users an item they were not served (resolved, no hit).
        var expected = new Dictionary<string, (HashSet<long> Users, long Impressions, long Hits, long Resolved)>
        {
            ["A"] = ([], 0, 0, 0), ["B"] = ([], 0, 0, 0),
        };
        var feedback = new RowSet { Columns = { "user", "item", "rating", "ts" } };
        for (var user = 1; user <= 30; user++)
        {
            var answer = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = user, K = 5 });
            if (user == 5) answer = await client.RecommendAsync(new RecommendRequest { Pipeline = name, User = user, K = 5 });
            var e = expected[answer.Variant];
            e.Users.Add(user);
            e.Impressions += user == 5 ? 2 : 1;
            e.Resolved++;
            var hit = user % 2 == 0;
            if (hit) e.Hits++;
            expected[answer.Variant] = e;
            var served = answer.Items.Select(i => i.Item).ToHashSet();
            var item = hit ? answer.Items[0].Item : Enumerable.Range(0, 1000).First(i => !served.Contains(i));
            feedback.Rows.Add(RecommendRpcTests.Row(user, item, 1, 3_000_000_000_000L + user));
        }
        await IngestAsync(name, feedback, state);

        var report = await host.Query().GetMetricsAsync(new MetricsRequest { Pipeline = name });
        Assert.Equal(["A", "B"], report.RecommendVariants.Select(v => v.Variant));
        foreach (var v in report.RecommendVariants)
        {
            var e = expected[v.Variant];
            Assert.Equal((e.Users.Count, e.Impressions, e.Resolved, e.Hits, e.Hits), (v.Users, v.Requests, v.Resolved, v.Hits, v.Clicked));
            var (low, high) = SignificanceTest.WilsonInterval(e.Hits, e.Resolved);
            Assert.Equal((low, high), (v.HitRateLow, v.HitRateHigh));
            Assert.InRange(v.HitRate, v.HitRateLow, v.HitRateHigh);
        }
        var comparison = Assert.Single(report.RecommendComparisons);
        var test = SignificanceTest.TwoProportions(expected["A"].Hits, expected["A"].Resolved, expected["B"].Hits, expected["B"].Resolved);
        Assert.Equal((test.Z, test.PValue), (comparison.HitRateZ, comparison.HitRatePValue));

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"{host.Server.MetricsAddress}/metrics");
        foreach (var metric in StableNames) Assert.Contains($"# TYPE {metric} ", text);
        string Labels(string variant, string model) => $"pipeline=\"{name}\",variant=\"{variant}\",model=\"{model}\"";
        Assert.Contains($"streamml_recommend_users{{{Labels("B", "popularity")}}} {expected["B"].Users.Count}\n", text);
        Assert.Contains($"streamml_recommend_hits_total{{{Labels("A", "itemknn")}}} {expected["A"].Hits}\n", text);
        Assert.Contains($"streamml_recommend_hit_rate_z{{pipeline=\"{name}\",variant=\"B\",baseline=\"A\"}} {test.Z.ToString(CultureInfo.InvariantCulture)}\n", text);
        Assert.Contains($"streamml_recommend_hit_rate_interval{{{Labels("A", "itemknn")},bound=\"low\"}} " +
            $"{report.RecommendVariants[0].HitRateLow.ToString(CultureInfo.InvariantCulture)}\n", text);
    }

    private async Task IngestAsync(string name, RowSet rows, StreamMl.Host.Recommendations.RecommendState state)
    {
        var expected = state.Interactions.Rows + rows.Rows.Count;
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = rows });
            await ingest.RequestStream.CompleteAsync();
            await ingest.ResponseAsync;
        }
        await StreamMl.Testing.Eventually.TrueAsync(() => state.Interactions.Rows >= expected, $"the recommend stage to learn from {expected} rows",
            seen: () => $"{state.Interactions.Rows} rows");
    }
}
