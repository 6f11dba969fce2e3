using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Issue 12 item 3: a file that cannot be read at all (a header naming a column twice, 0 bytes, only a
/// byte-order mark, an empty JSON Lines file) is one file-level dead letter with the reason, and the other files of
/// the folder are read in full (checked with DuckDB).</summary>
public sealed class BadFileTests
{
    private static async Task<(FileSource Source, string Output, CollectingDeadLetterSink Dead, long Written)> Ingest(FileSourceOptions options)
    {
        var source = FileSource.Create(options);
        var output = TestData.TempDir();
        var dead = new CollectingDeadLetterSink();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { DeadLetters = dead }).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(source.RecordsRead, sink.RowsWritten + dead.Count);
        return (source, output, dead, sink.RowsWritten);
    }

    /// <summary>A folder whose first files (by name) are broken, so that the schema must be inferred past them.</summary>
    private static string CsvFolder()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "a_duplicate.csv"), "ID,LIMIT_BAL,ID\n1,2,3\n");
        File.WriteAllBytes(Path.Combine(dir, "b_empty.csv"), []);
        File.WriteAllBytes(Path.Combine(dir, "c_bom_only.csv"), [0xEF, 0xBB, 0xBF]);
        File.WriteAllLines(Path.Combine(dir, "d_credit.csv"), File.ReadLines(TestData.Data("credit_default", "UCI_Credit_Card.csv")).Take(2001));
        File.WriteAllLines(Path.Combine(dir, "e_credit.csv"), File.ReadLines(TestData.Data("credit_default", "UCI_Credit_Card.csv")).Take(1).Concat(
            File.ReadLines(TestData.Data("credit_default", "UCI_Credit_Card.csv")).Skip(2001).Take(1000)));
        return dir;
    }

    [Fact]
    public async Task CsvFolder_BadFilesAreDeadLetteredAndTheSchemaIsInferredFromTheFirstGoodFile()
    {
        var dir = CsvFolder();
        var options = new FileSourceOptions();
        options.Paths.Add(dir);

        var (source, output, dead, written) = await Ingest(options);

        Assert.EndsWith("d_credit.csv", source.Inference!.File);
        var ids = TestData.Query($"SELECT ID FROM read_parquet('{TestData.Glob(output)}') ORDER BY ID").Select(r => (long)r[0]!).ToList();
        Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), ids);
        Assert.Equal(3000, written);
        var letters = dead.Letters.OrderBy(l => l.Partition).ToList();
        Assert.Equal(3, letters.Count);
        Assert.All(letters, l => Assert.Equal("file", l.Rule));
        Assert.Contains("a_duplicate.csv", letters[0].Message);
        Assert.Contains("names column 'ID' twice (columns 1 and 3)", letters[0].Message);
        Assert.Contains("b_empty.csv", letters[1].Message);
        Assert.Contains("empty (0 bytes)", letters[1].Message);
        Assert.Contains("c_bom_only.csv", letters[2].Message);
        Assert.Contains("no header", letters[2].Message);
        Assert.Equal(3, source.FilesFailed);
    }

    [Fact]
    public void OnlyBadFiles_WithoutADeclaredSchema_FailWithEveryReason()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "a.csv"), "x,y,x\n1,2,3\n");
        File.WriteAllBytes(Path.Combine(dir, "b.csv"), []);
        var options = new FileSourceOptions();
        options.Paths.Add(dir);
        var error = Assert.Throws<BadInputException>(() => FileSource.Create(options));
        Assert.Contains("cannot infer a schema", error.Message);
        Assert.Contains("a.csv: the header names column 'x' twice", error.Message);
        Assert.Contains("b.csv: the file is empty (0 bytes)", error.Message);
    }

    [Fact]
    public async Task EmptyJsonLines_AreDeadLetteredAndTheOtherFilesRead()
    {
        var dir = TestData.TempDir();
        File.WriteAllBytes(Path.Combine(dir, "a_empty.jsonl"), []);
        File.WriteAllBytes(Path.Combine(dir, "b_bom.jsonl"), [0xEF, 0xBB, 0xBF, (byte)'\n']);
        var good = new StringBuilder();
        for (var i = 1; i <= 500; i++) good.Append("{\"id\":").Append(i).Append(",\"v\":").Append(i * 2).Append("}\n");
        // A byte-order mark before the first object is skipped, not a syntax error.
        File.WriteAllBytes(Path.Combine(dir, "c_good.jsonl"), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(good.ToString())]);
        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,v:int64") };
        options.Paths.Add(dir);

        var (source, output, dead, _) = await Ingest(options);

        var rows = TestData.Query($"SELECT id, v FROM read_parquet('{TestData.Glob(output)}') ORDER BY id");
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), rows.Select(r => (long)r[0]!));
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i * 2), rows.Select(r => (long)r[1]!));
        var letters = dead.Letters.OrderBy(l => l.Partition).ToList();
        Assert.Equal(2, letters.Count);
        Assert.Contains("a_empty.jsonl", letters[0].Message);
        Assert.Contains("empty (0 bytes)", letters[0].Message);
        Assert.Contains("b_bom.jsonl", letters[1].Message);
        Assert.Contains("no JSON line", letters[1].Message);
        Assert.Equal(2, source.FilesFailed);
    }

    [Fact]
    public void DeclaredSchemaWithoutColumns_IsRefusedWithAReason()
    {
        var options = new FileSourceOptions { Schema = new Schema(Array.Empty<Field>()) };
        options.Paths.Add(TestData.Data("credit_default", "UCI_Credit_Card.csv"));
        var error = Assert.Throws<BadInputException>(() => FileSource.Create(options));
        Assert.Contains("the declared schema has no columns", error.Message);
    }
}
