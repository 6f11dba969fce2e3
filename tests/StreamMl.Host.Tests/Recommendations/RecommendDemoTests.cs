using System.Text.RegularExpressions;
using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>`streamml demo recommend`, short: ratings stream in, a second client is served by both variants, and the
/// per-variant table and the A/B comparison are printed.</summary>
public sealed class RecommendDemoTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_recommend_demo_streams_serves_both_variants_and_prints_their_metrics(bool movieLens)
    {
        var data = movieLens ? FindMovieLens() : Path.Combine(Path.GetTempPath(), "no-such-folder", "u.data");
        if (movieLens && data is null) data = "missing";
        var output = new StringWriter();
        var code = await CliApp.RunAsync(["demo", "recommend", "--data", data!, "--events", "4000", "--chunk", "200"], output, output);
        var text = output.ToString();
        Assert.True(code == ExitCodes.Ok, text);
        if (data == "missing" || !movieLens) Assert.Contains("streaming 20,000 generated ratings instead", text);
        else Assert.Contains("read 100,000 ratings", text);
        Assert.Contains("ratings streamed: 4,000", text);
        var served = long.Parse(Regex.Match(text, @"recommendations served: ([\d,]+)").Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(served > 0, text);
        foreach (var (variant, model) in new[] { ("A", "itemknn"), ("B", "popularity") })
        {
            var row = Regex.Matches(text, $@"^\s+{variant}\s+{model}\s+([\d,]+)", RegexOptions.Multiline);
            Assert.NotEmpty(row);
            Assert.True(long.Parse(row[^1].Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture) > 0, text);
        }
        Assert.Contains("B against A: CTR z", text);
    }

    /// <summary>The repository's MovieLens copy beside it (../shared/data), found from the test's folder upwards.</summary>
    private static string? FindMovieLens()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "movielens_100k", "u.data");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
