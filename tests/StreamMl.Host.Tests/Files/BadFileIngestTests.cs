using System.CommandLine;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using StreamMl.Host.Files;

namespace StreamMl.Host.Tests.Files;

/// <summary>Issue 12 item 3 through <c>streamml ingest</c>: broken files in a folder are dead-lettered one by one, the
/// other files' rows all arrive (read back with DuckDB), and an empty <c>--schema</c> is a usage error.</summary>
public sealed class BadFileIngestTests
{
    private static string Temp()
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamml-ingest-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static async Task<(int Code, string Out, string Err)> Ingest(params string[] args)
    {
        var root = new RootCommand { IngestCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await root.Parse(["ingest", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Folder_WithDuplicateHeaderAndEmptyFiles_WritesEveryGoodRow()
    {
        var input = Temp();
        File.WriteAllText(Path.Combine(input, "a_dup.csv"), "k,v,k\n1,2,3\n");
        File.WriteAllBytes(Path.Combine(input, "b_empty.csv"), []);
        File.WriteAllBytes(Path.Combine(input, "c_bom.csv"), [0xEF, 0xBB, 0xBF]);
        File.WriteAllText(Path.Combine(input, "d_good.csv"), "k,v\n" + string.Concat(Enumerable.Range(1, 700).Select(i => $"{i},{i * 3}\n")));
        File.WriteAllText(Path.Combine(input, "e_good.csv"), "k,v\n" + string.Concat(Enumerable.Range(701, 300).Select(i => $"{i},{i * 3}\n")));
        var output = Temp();

        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain");

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("counts reconcile", stdout);
        Assert.Contains("3 file(s) failed", stdout);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), DuckDb.Longs(output, "k"));
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i * 3), DuckDb.Longs(output, "v"));
        var letters = File.ReadAllLines(Path.Combine(output, "dead-letters.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("message").GetString()!).Order().ToList();
        Assert.Equal(3, letters.Count);
        Assert.Contains("a_dup.csv", letters[0]);
        Assert.Contains("names column 'k' twice", letters[0]);
        Assert.Contains("b_empty.csv", letters[1]);
        Assert.Contains("empty (0 bytes)", letters[1]);
        Assert.Contains("c_bom.csv", letters[2]);
        Assert.Contains("no header", letters[2]);
    }

    [Fact]
    public async Task EmptyJsonLinesFile_IsDeadLetteredWithADeclaredSchema()
    {
        var input = Temp();
        File.WriteAllBytes(Path.Combine(input, "a.jsonl"), []);
        File.WriteAllText(Path.Combine(input, "b.jsonl"), string.Concat(Enumerable.Range(1, 50).Select(i => $"{{\"k\":{i}}}\n")));
        var output = Temp();

        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain", "--schema", "k:int64");

        Assert.True(code == 0, stderr + stdout);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), DuckDb.Longs(output, "k"));
        Assert.Contains("a.jsonl", Assert.Single(File.ReadAllLines(Path.Combine(output, "dead-letters.jsonl"))));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    public async Task EmptySchemaFlag_IsAUsageError(string schema)
    {
        var input = Path.Combine(Temp(), "x.csv");
        File.WriteAllText(input, "k\n1\n");
        var (code, _, stderr) = await Ingest(input, "-o", Temp(), "--plain", "--schema", schema);
        Assert.Equal(1, code);
        Assert.Contains("--schema", stderr);
        Assert.Contains("declares no column", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }

    [Fact]
    public async Task OnlyAnEmptyFile_IsAClearErrorNotACrash()
    {
        var input = Path.Combine(Temp(), "empty.csv");
        File.WriteAllBytes(input, []);
        var (code, _, stderr) = await Ingest(input, "-o", Temp(), "--plain");
        Assert.Equal(6, code);
        Assert.Contains("empty.csv: the file is empty (0 bytes)", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }

    [Fact]
    public async Task CorruptGzipInAFolder_WritesNoInventedRowAndTheOtherFileInFull()
    {
        var source = StreamMl.Testing.SharedData.File("credit_default", "UCI_Credit_Card.csv");
        var input = Temp();
        var bytes = new MemoryStream();
        using (var gzip = new GZipStream(bytes, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(File.ReadAllBytes(source));
        var damaged = bytes.ToArray();
        var random = new Random(3);
        for (var i = damaged.Length / 2; i < damaged.Length / 2 + 64; i++) damaged[i] ^= (byte)random.Next(1, 256);
        File.WriteAllBytes(Path.Combine(input, "a_credit.csv.gz"), damaged);
        File.WriteAllLines(Path.Combine(input, "b_credit.csv"), File.ReadLines(source).Take(1).Concat(File.ReadLines(source).Skip(29_001)));
        var output = Temp();

        var (code, stdout, stderr) = await Ingest(input, "-o", output, "--plain", "--schema", "ID:int64,LIMIT_BAL:float64,AGE:int64");

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("counts reconcile", stdout);
        // Only the uncompressed file's 1,000 rows (IDs 29,001-30,000), checked against the source values.
        var reference = File.ReadLines(source).Skip(29_001).Select(l => l.Split(','))
            .Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture))).ToList();
        var glob = Path.Combine(output, "**", "*.parquet").Replace("'", "''");
        var rows = DuckDb.Query($"SELECT ID, LIMIT_BAL, AGE FROM read_parquet('{glob}') ORDER BY ID")
            .Select(r => ((long)r[0]!, (double)r[1]!, (long)r[2]!)).ToList();
        Assert.Equal(reference, rows);
        var letter = Assert.Single(File.ReadAllLines(Path.Combine(output, "dead-letters.jsonl")));
        Assert.Contains("a_credit.csv.gz", letter);
        Assert.Contains("gzip", letter);
        Assert.Contains("member 1", letter);
    }
}
