using System.IO.Compression;
using System.Text;
using ParquetSharp;
using Encoding = System.Text.Encoding;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.BadInput;

/// <summary>Each corpus file breaks in one way: the bad record is dead-lettered with its file and line, the good
/// records around it are read, the next file is read, and the counts reconcile.</summary>
public sealed class BadInputTests
{
    private static readonly Schema s_csvSchema = SchemaText.Parse("id:int64,name:string,amount:float64");

    private sealed record Run(FileSource Source, ParquetSink Sink, CollectingDeadLetterSink Dead, string Output)
    {
        public List<object?[]> Rows(string columns = "*") =>
            TestData.Query($"SELECT {columns} FROM read_parquet('{TestData.Glob(Output)}') ORDER BY id");
    }

    private static async Task<Run> Ingest(Schema? schema, params string[] paths)
    {
        var options = new FileSourceOptions { Schema = schema };
        foreach (var path in paths) options.Paths.Add(path);
        options.JsonPaths["name"] = "user.name";
        options.JsonPaths["city"] = "user.address.city";
        var run = await TestData.IngestToParquetAsync(options); // checks that every record read is written or dead-lettered
        return new Run(run.Source, run.Sink, run.Dead, run.Output);
    }

    private static void AssertLetter(DeadLetter letter, string rule, string file, long line)
    {
        Assert.Equal(rule, letter.Rule);
        Assert.Equal(line, letter.Offset);
        Assert.Contains(file, letter.Message);
        Assert.Contains($"line {line}", letter.Message);
    }

    private static long[] Ids(Run run) => [.. run.Rows("id").Select(r => (long)r[0]!)];

    [Fact]
    public async Task UnclosedQuote_DeadLettersTheLineAndRecoversTheRest()
    {
        var run = await Ingest(s_csvSchema, TestData.BadInput("unclosed_quote.csv"));
        Assert.Equal([1L, 2, 4, 5, 6], Ids(run));
        var letter = Assert.Single(run.Dead.Letters);
        AssertLetter(letter, "csv-quote", "unclosed_quote.csv", 4);
        Assert.Equal("3,\"bob,30", letter.Raw);
        var names = run.Rows("id, name").ToDictionary(r => (long)r[0]!, r => (string)r[1]!);
        Assert.Equal("smith, john", names[2]);
        Assert.Equal("dave \"d\" x", names[5]);
    }

    [Fact]
    public async Task WrongFieldCounts_AreDeadLetteredWithCounts()
    {
        var run = await Ingest(s_csvSchema, TestData.BadInput("wrong_fields.csv"));
        Assert.Equal([1L, 4], Ids(run));
        var letters = run.Dead.Letters.OrderBy(l => l.Offset).ToList();
        Assert.Equal(2, letters.Count);
        AssertLetter(letters[0], "csv-fields", "wrong_fields.csv", 3);
        Assert.Contains("found 2", letters[0].Message);
        AssertLetter(letters[1], "csv-fields", "wrong_fields.csv", 4);
        Assert.Contains("found 4", letters[1].Message);
    }

    [Fact]
    public async Task TextInNumericColumn_IsDeadLetteredAndNullTokensAreNull()
    {
        var run = await Ingest(s_csvSchema, TestData.BadInput("text_in_numeric.csv"));
        var rows = run.Rows("id, amount");
        Assert.Equal([1L, 3, 4, 5], rows.Select(r => (long)r[0]!));
        Assert.Equal([1.5, null, null, 2000.0], rows.Select(r => (double?)r[1]));
        var letter = Assert.Single(run.Dead.Letters);
        AssertLetter(letter, "type", "text_in_numeric.csv", 3);
        Assert.Contains("'amount'", letter.Message);
        Assert.Contains("'abc'", letter.Message);
    }

    [Fact]
    public async Task InvalidUtf8_DeadLettersOnlyThatRow()
    {
        var run = await Ingest(s_csvSchema, TestData.BadInput("invalid_utf8.csv"));
        Assert.Equal([1L, 3], Ids(run));
        AssertLetter(Assert.Single(run.Dead.Letters), "encoding", "invalid_utf8.csv", 3);
    }

    [Fact]
    public async Task JsonErrors_EachLineDeadLetteredWithItsReason()
    {
        var schema = SchemaText.Parse("id:int64,name:string,city:string,amount:float64");
        var run = await Ingest(schema, TestData.BadInput("json_errors.jsonl"));
        var rows = run.Rows("id, name, city, amount");
        Assert.Equal([1L, 2, 5], rows.Select(r => (long)r[0]!));
        Assert.Equal(["a", "b", "e"], rows.Select(r => (string)r[1]!));
        Assert.Equal(["Paris", null, "Oslo"], rows.Select(r => (string?)r[2]));
        Assert.Equal([1.5, 2.5, null], rows.Select(r => (double?)r[3]));
        var letters = run.Dead.Letters.OrderBy(l => l.Offset).ToList();
        Assert.Equal([3L, 4, 5, 8, 9], letters.Select(l => l.Offset));
        AssertLetter(letters[0], "type", "json_errors.jsonl", 3);
        Assert.Contains("\"lots\"", letters[0].Message);
        AssertLetter(letters[1], "json-syntax", "json_errors.jsonl", 4);
        Assert.Contains("byte", letters[1].Message);
        AssertLetter(letters[2], "json-syntax", "json_errors.jsonl", 5);
        AssertLetter(letters[3], "type", "json_errors.jsonl", 8);
        AssertLetter(letters[4], "json-syntax", "json_errors.jsonl", 9);
    }

    [Fact]
    public async Task TruncatedGzip_KeepsTheRowsOfVerifiedMembersAndGoesOnToTheNextFile()
    {
        var dir = TestData.TempDir();
        var first = new StringBuilder("id,name,amount\n");
        for (var i = 1; i <= 10_000; i++) first.Append(i).Append(",n").Append(i % 7).Append(',').Append(i * 0.5).Append('\n');
        var second = new StringBuilder();
        for (var i = 10_001; i <= 20_000; i++) second.Append(i).Append(",n").Append(i % 7).Append(',').Append(i * 0.5).Append('\n');
        // Two gzip members, as `cat a.gz b.gz` or a log shipper writes them; the cut falls inside the second.
        var bytes = new MemoryStream();
        foreach (var part in new[] { first, second })
            using (var gzip = new GZipStream(bytes, CompressionLevel.Optimal, leaveOpen: true))
                gzip.Write(Encoding.UTF8.GetBytes(part.ToString()));
        var whole = bytes.ToArray();
        var cut = Path.Combine(dir, "a_truncated.csv.gz");
        File.WriteAllBytes(cut, whole[..(whole.Length * 8 / 10)]);

        var run = await Ingest(s_csvSchema, cut, TestData.BadInput("wrong_fields.csv"));
        var ids = Ids(run);
        // Every row of the first member (its CRC and size verified), none of the second (its trailer was cut off, so
        // nothing decoded from it is trusted), then the next file's two good rows.
        Assert.Equal(Enumerable.Range(1, 10_000).Select(i => (long)i).Concat([1L, 4L]).Order(), ids);
        var fileLetter = Assert.Single(run.Dead.Letters, l => l.Rule == "file");
        Assert.Contains("a_truncated.csv.gz", fileLetter.Message);
        Assert.Contains("truncated or corrupt gzip: member 2", fileLetter.Message);
        Assert.Equal(2, run.Dead.Letters.Count(l => l.Rule == "csv-fields"));
        Assert.Equal(1, run.Source.FilesFailed);
    }

    [Fact]
    public async Task ParquetWithCorruptFooter_IsDeadLetteredAndTheNextFileIsRead()
    {
        var dir = TestData.TempDir();
        var good = Path.Combine(dir, "b_good.parquet");
        var ids = Enumerable.Range(1, 500).Select(i => (long)i).ToArray();
        var amounts = ids.Select(i => i % 10 == 0 ? (double?)null : i * 1.25).ToArray();
        var names = ids.Select(i => "name" + (i % 3)).ToArray();
        WriteWithParquetSharp(good, ids, names, amounts);
        var corrupt = Path.Combine(dir, "a_corrupt.parquet");
        WriteWithParquetSharp(corrupt, ids, names, amounts);
        var bytes = File.ReadAllBytes(corrupt);
        bytes.AsSpan(bytes.Length - 12, 8).Fill(0x5A); // footer length and part of the metadata
        File.WriteAllBytes(corrupt, bytes);

        var run = await Ingest(s_csvSchema, corrupt, good);
        var rows = run.Rows("id, name, amount");
        Assert.Equal(ids, rows.Select(r => (long)r[0]!));
        Assert.Equal(names, rows.Select(r => (string)r[1]!));
        Assert.Equal(amounts, rows.Select(r => (double?)r[2]));
        var letter = Assert.Single(run.Dead.Letters);
        Assert.Equal("file", letter.Rule);
        Assert.Contains("a_corrupt.parquet", letter.Message);
        Assert.Contains("footer", letter.Message);
    }

    private static void WriteWithParquetSharp(string path, long[] ids, string[] names, double?[] amounts)
    {
        var columns = new ParquetSharp.Column[] { new Column<long>("id"), new Column<string>("name"), new Column<double?>("amount") };
        using var writer = new ParquetFileWriter(path, columns);
        using var group = writer.AppendRowGroup();
        using (var w = group.NextColumn().LogicalWriter<long>()) w.WriteBatch(ids);
        using (var w = group.NextColumn().LogicalWriter<string>()) w.WriteBatch(names);
        using (var w = group.NextColumn().LogicalWriter<double?>()) w.WriteBatch(amounts);
        writer.Close();
    }
}
