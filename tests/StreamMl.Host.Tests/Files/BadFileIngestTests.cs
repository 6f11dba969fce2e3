using System.CommandLine;
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
}
