using System.Text.Json;
using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Cli;

/// <summary><c>streamml recommend evaluate</c> on small files whose figures can be worked out by hand.</summary>
public sealed class RecommendCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-recommend-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Leave_last_out_popularity_prints_the_hand_computed_hit_rate_ndcg_and_coverage_as_json()
    {
        // Test items (each user's last): u1→i3, u2→i3, u3→i2. Training counts: i1 3, i2 2 (i3 is never trained on).
        // With k = 1: u1 and u2 have seen i1 and i2, so their lists are empty (misses); u3 gets i2, a hit at rank 1.
        var file = Write("events.csv", "user,item,ts\nu1,i1,1\nu2,i1,2\nu3,i1,3\nu1,i2,4\nu2,i2,5\nu1,i3,6\nu2,i3,7\nu3,i2,8\n");
        var run = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "user", "--item", "item", "--time", "ts",
            "--k", "1", "--models", "popularity");

        Assert.True(run.Code == ExitCodes.Ok, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal(8, json.RootElement.GetProperty("events").GetInt32());
        Assert.Equal("leave-last-out", json.RootElement.GetProperty("protocol").GetString());
        var model = Assert.Single(json.RootElement.GetProperty("models").EnumerateArray());
        Assert.Equal("popularity", model.GetProperty("model").GetString());
        Assert.Equal(3, model.GetProperty("cases").GetInt32());
        Assert.Equal(0.3333, model.GetProperty("hr@1").GetDouble());
        Assert.Equal(0.3333, model.GetProperty("ndcg@1").GetDouble());
        Assert.Equal(0.3333, model.GetProperty("coverage").GetDouble()); // i2 of i1, i2, i3
    }

    [Fact]
    public async Task Every_model_runs_both_protocols_on_a_headerless_tab_separated_file()
    {
        var random = new Random(5);
        var lines = Enumerable.Range(0, 600).Select(i => $"{random.Next(30)}\t{(int)(40 * Math.Pow(random.NextDouble(), 2))}\t4\t{1_000_000 + i * 60}");
        var file = Write("u.data", string.Join("\n", lines) + "\n");
        foreach (var protocol in new[] { "leave-last-out", "prequential" })
        {
            var run = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "1", "--item", "2", "--time", "4",
                "--rating", "3", "--no-header", "--protocol", protocol);
            Assert.True(run.Code == ExitCodes.Ok, run.Error);
            using var json = JsonDocument.Parse(run.Output);
            var models = json.RootElement.GetProperty("models").EnumerateArray().ToList();
            Assert.Equal(["popularity", "itemknn", "ease"], models.Select(m => m.GetProperty("model").GetString()));
            Assert.All(models, m => Assert.InRange(m.GetProperty("hr@10").GetDouble(), 0, 1));
        }
    }

    [Fact]
    public async Task Bad_input_is_reported_with_file_line_and_field_and_bad_options_in_words()
    {
        var file = Write("bad.csv", "user,item,ts\n1,2,100\n1,3,yesterday-ish\n");
        var run = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "user", "--item", "item", "--time", "ts");
        Assert.Equal(ExitCodes.Failed, run.Code);
        Assert.Equal($"error: {file}:3: the time field 'ts' is 'yesterday-ish', not Unix seconds or an ISO 8601 date", run.Error.Trim());

        var missing = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "customer", "--item", "item", "--time", "ts");
        Assert.Equal(ExitCodes.Failed, missing.Code);
        Assert.Contains("the user column 'customer' is not in the header (user, item, ts)", missing.Error);

        var model = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "user", "--item", "item", "--time", "ts", "--models", "svd");
        Assert.Equal(ExitCodes.Usage, model.Code);
        Assert.Contains("unknown model 'svd' in --models: use popularity, itemknn, ease", model.Error);

        var k = await RunAsync("recommend", "evaluate", "--interactions", file, "--user", "user", "--item", "item", "--time", "ts", "--k", "0");
        Assert.Equal(ExitCodes.Usage, k.Code);
        Assert.Contains("--k must be at least 1", k.Error);
    }
}
