using System.Globalization;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Split;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Split;

/// <summary>Splits of the credit dataset, checked with DuckDB against the class counts of a plain parse.</summary>
public sealed class TrainTestSplitTests
{
    private static readonly string s_input = TestData.Data("credit_default", "UCI_Credit_Card.csv");

    private static async Task<(HashSet<long> Train, HashSet<long> Test, string Dir)> Split(int seed, string? stratify)
    {
        var options = new FileSourceOptions();
        options.Paths.Add(s_input);
        var dir = TestData.TempDir();
        var sink = new TrainTestSplitSink(new TrainTestSplitOptions { Directory = dir, Seed = seed, StratifyBy = stratify, TestFraction = 0.2 });
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(sink).Build())
            await pipeline.RunAsync();
        HashSet<long> Ids(string part) => [.. TestData.Query($"SELECT ID FROM read_parquet('{TestData.Glob(Path.Combine(dir, part))}')").Select(r => (long)r[0]!)];
        var train = Ids("train");
        var test = Ids("test");
        Assert.Equal(sink.TrainRows, train.Count);
        Assert.Equal(sink.TestRows, test.Count);
        return (train, test, dir);
    }

    [Fact]
    public async Task Stratified_KeepsEachClassProportionExactly_AndIsSeeded()
    {
        const string label = "default.payment.next.month";
        var (header, rows) = TestData.PlainCsv(s_input);
        var labelIndex = Array.IndexOf(header, label);
        var classes = rows.GroupBy(r => r[labelIndex]).ToDictionary(g => long.Parse(g.Key, CultureInfo.InvariantCulture), g => g.Count());

        var (train, test, dir) = await Split(7, label);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(rows.Count, train.Count + test.Count);
        var testByClass = TestData.Query($"SELECT \"{label}\", count(*) FROM read_parquet('{TestData.Glob(Path.Combine(dir, "test"))}') GROUP BY 1")
            .ToDictionary(r => (long)r[0]!, r => Convert.ToInt64(r[1], CultureInfo.InvariantCulture));
        foreach (var (value, count) in classes)
            Assert.InRange(testByClass[value], Math.Floor(count * 0.2), Math.Ceiling(count * 0.2));

        var (_, again, _) = await Split(7, label);
        Assert.Equal(test, again);
        var (_, other, _) = await Split(8, label);
        Assert.NotEqual(test, other);
    }

    [Fact]
    public async Task Random_IsNearTheFractionAndStableAcrossRuns()
    {
        var (train, test, _) = await Split(1, null);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(30_000, train.Count + test.Count);
        Assert.InRange(test.Count, 30_000 * 0.2 - 300, 30_000 * 0.2 + 300); // about 4.5 standard deviations
        var (_, again, _) = await Split(1, null);
        Assert.Equal(test, again);
    }
}
