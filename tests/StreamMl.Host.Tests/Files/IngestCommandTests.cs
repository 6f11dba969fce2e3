using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using StreamMl.Host.Files;

namespace StreamMl.Host.Tests.Files;

/// <summary>The <c>ingest</c> command end to end on the shared datasets and the bad-input corpus, with output read
/// back by Parquet.Net's own reader and counts compared with a plain parse of the input.</summary>
public sealed class IngestCommandTests
{
    private static string RepoRoot() => StreamMl.Testing.SharedData.RepositoryRoot;

    private static string Data(params string[] parts) => StreamMl.Testing.SharedData.File(parts);

    private static string Temp()
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamml-ingest-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static Task<(int Code, string Out, string Err)> Ingest(params string[] args) => IngestCli.RunAsync(args);

    private static Task<List<T?>> ReadColumn<T>(string dir, string column) where T : struct => IngestCli.ReadColumnAsync<T>(dir, column);

    [Fact]
    public async Task Housing_ImputesMedianValidatesAndReconciles()
    {
        var input = Data("california_housing", "housing.csv");
        var output = Temp();
        var deadPath = Path.Combine(Temp(), "dead.parquet");
        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain",
            "--impute", "total_bedrooms:median", "--range", "housing_median_age:0:100",
            "--allowed", "ocean_proximity:NEAR BAY|<1H OCEAN|INLAND|NEAR OCEAN|ISLAND", "--range", "median_income:0:10:filter",
            "--dead-letters", deadPath);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("counts reconcile", stdout);
        Assert.Contains("[ingest]", stdout);

        var lines = File.ReadAllLines(input).Skip(1).Select(l => l.Split(',')).ToList();
        var income = lines.Select(l => double.Parse(l[7], CultureInfo.InvariantCulture)).ToList();
        var kept = lines.Where(l => double.Parse(l[7], CultureInfo.InvariantCulture) <= 10).ToList();
        var bedrooms = await ReadColumn<double>(output, "total_bedrooms");
        Assert.Equal(kept.Count, bedrooms.Count);
        Assert.All(bedrooms, b => Assert.NotNull(b));
        // Reference median of the non-empty total_bedrooms over the whole file (the profile pass sees every row).
        var present = lines.Where(l => l[4].Length > 0).Select(l => double.Parse(l[4], CultureInfo.InvariantCulture)).Order().ToArray();
        var median = present.Length % 2 == 1 ? present[present.Length / 2] : (present[present.Length / 2 - 1] + present[present.Length / 2]) / 2;
        var expected = kept.Select(l => l[4].Length == 0 ? median : double.Parse(l[4], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(expected, bedrooms.Select(b => b!.Value));

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "quality-report.json")));
        var root = report.RootElement;
        Assert.Equal(lines.Count, root.GetProperty("rowsIn").GetInt64());
        Assert.Equal(income.Count(i => i > 10), root.GetProperty("rowsFiltered").GetInt64());
        var impute = root.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("rule").GetString() == "impute");
        Assert.Equal(kept.Count(l => l[4].Length == 0), impute.GetProperty("changed").GetInt64());
        Assert.True(Directory.Exists(deadPath)); // a Parquet dead-letter path is a folder of part files
    }

    [Fact]
    public async Task Checkpoint_ARerunReadsOnlyFilesAddedSince()
    {
        var inputs = Temp();
        File.WriteAllLines(Path.Combine(inputs, "a.csv"), ["k,v", .. Enumerable.Range(0, 700).Select(i => $"{i},{i * 2}")]);
        var output = Temp();
        var checkpoint = Path.Combine(Temp(), "ingest.checkpoint.json");
        string[] Args() => [Path.Combine(inputs, "*.csv"), "-o", output, "--plain", "--schema", "k:int64,v:int64", "--checkpoint", checkpoint];

        var (code, stdout, stderr) = await Ingest(Args());
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("read 700 rows", stdout);
        Assert.Contains("\"done\": true", File.ReadAllText(checkpoint));

        File.WriteAllLines(Path.Combine(inputs, "b.csv"), ["k,v", .. Enumerable.Range(700, 300).Select(i => $"{i},{i * 2}")]);
        (code, stdout, stderr) = await Ingest(Args());
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("read 300 rows", stdout); // a.csv is not read again
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long?)i), (await ReadColumn<long>(output, "k")).Order());
    }

    [Fact]
    public async Task BadInputFolder_DeadLettersEveryBadRecordAndReconciles()
    {
        var corpus = Path.Combine(RepoRoot(), "tests", "StreamMl.Connectors.Tests", "BadInput");
        var output = Temp();
        var (code, stdout, stderr) = await Ingest(Path.Combine(corpus, "*.csv"), "-o", output, "--plain", "--schema", "id:int64,name:string,amount:float64");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("counts reconcile", stdout);
        var letters = File.ReadAllLines(Path.Combine(output, "dead-letters.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // unclosed_quote: 1, wrong_fields: 2, text_in_numeric: 1, invalid_utf8: 1 (see BadInput/README.md).
        Assert.Equal(5, letters.Count);
        Assert.All(letters, l => Assert.Matches(@"\.csv line \d+: ", l.GetProperty("message").GetString()));
        var ids = await ReadColumn<long>(output, "id");
        Assert.Equal(5 + 2 + 4 + 2, ids.Count);
    }

    [Fact]
    public async Task Credit_StratifiedSplitWithInferOnlyFirst()
    {
        var input = Data("credit_default", "UCI_Credit_Card.csv");
        var (inferCode, inferOut, _) = await Ingest(input, "-o", Temp(), "--infer-only");
        Assert.Equal(0, inferCode);
        Assert.Contains("LIMIT_BAL", inferOut);
        Assert.Contains("int64", inferOut);
        Assert.Contains("declaration: ID:int64,", inferOut);

        var output = Temp();
        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain", "--split-test", "0.25", "--stratify", "default.payment.next.month",
            "--compression", "zstd", "--roll-rows", "10000");
        Assert.True(code == 0, stderr + stdout);
        var train = await ReadColumn<long>(Path.Combine(output, "train"), "default.payment.next.month");
        var test = await ReadColumn<long>(Path.Combine(output, "test"), "default.payment.next.month");
        Assert.Equal(30_000, train.Count + test.Count);
        var positives = File.ReadAllLines(input).Skip(1).Count(l => l.EndsWith(",1", StringComparison.Ordinal));
        Assert.InRange(test.Count(v => v == 1), Math.Floor(positives * 0.25), Math.Ceiling(positives * 0.25));
        Assert.InRange(test.Count, 7_499, 7_501);
    }

    [Fact]
    public async Task MissingRatio_DropsTheColumnFromTheOutput()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "sparse.csv");
        File.WriteAllLines(input, ["a,b,c", .. Enumerable.Range(0, 100).Select(i => $"{i},{(i % 10 == 0 ? i : "NA")},{(i % 2 == 0 ? "" : "x")}")]);
        var output = Path.Combine(dir, "out");
        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain", "--drop-missing-above", "0.6");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("dropped column b", stdout);
        var file = Directory.GetFiles(output, "*.parquet").Single();
        await using var stream = File.OpenRead(file);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(["a", "c"], reader.Schema.GetDataFields().Select(f => f.Name));
    }
}
