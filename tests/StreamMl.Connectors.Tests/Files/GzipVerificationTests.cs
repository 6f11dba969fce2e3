using System.Globalization;
using System.IO.Compression;
using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Issue 12 item 2: rows decoded from a gzip member reach a sink only when that member's CRC-32 and size
/// verified. The credit file is gzipped (one member or several, cut at arbitrary bytes), damaged, ingested into Parquet,
/// and the output is read with DuckDB and compared row by row with the source.</summary>
public sealed class GzipVerificationTests
{
    private static readonly string s_source = TestData.Data("credit_default", "UCI_Credit_Card.csv");

    /// <summary>The source's rows as "ID,LIMIT_BAL,AGE,BILL_AMT1,PAY_AMT6,default" keyed by ID.</summary>
    private static Dictionary<long, string> SourceRows()
    {
        var rows = new Dictionary<long, string>();
        foreach (var line in File.ReadLines(s_source).Skip(1))
        {
            // The file writes some integers in exponent form (5e+05): compare numbers, not text.
            var f = line.Split(',').Select(v => ((long)double.Parse(v, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture)).ToArray();
            rows[long.Parse(f[0], CultureInfo.InvariantCulture)] = string.Join(',', f[0], f[1], f[5], f[12], f[23], f[24]);
        }
        return rows;
    }

    /// <summary>The same columns as written to Parquet, read back with DuckDB.</summary>
    private static List<(long Id, string Row)> OutputRows(string output)
    {
        if (Directory.GetFiles(output, "*.parquet", SearchOption.AllDirectories).Length == 0) return [];
        return [.. TestData.Query(
                "SELECT ID, CAST(LIMIT_BAL AS BIGINT), AGE, CAST(BILL_AMT1 AS BIGINT), CAST(PAY_AMT6 AS BIGINT), \"default.payment.next.month\" " +
                $"FROM read_parquet('{TestData.Glob(output)}') ORDER BY ID")
            .Select(r => ((long)r[0]!, string.Join(',', r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))))];
    }

    /// <summary>Gzips <paramref name="text"/> as one member per slice, cut at the given byte offsets.</summary>
    private static byte[] Gzip(byte[] text, params int[] cuts)
    {
        var output = new MemoryStream();
        var bounds = cuts.Prepend(0).Append(text.Length).ToArray();
        for (var i = 0; i + 1 < bounds.Length; i++)
        {
            var member = new MemoryStream();
            using (var gzip = new GZipStream(member, CompressionLevel.Optimal, leaveOpen: true))
                gzip.Write(text, bounds[i], bounds[i + 1] - bounds[i]);
            member.WriteTo(output);
        }
        return output.ToArray();
    }

    private static int MemberLength(byte[] text, int from, int to)
    {
        var member = new MemoryStream();
        using (var gzip = new GZipStream(member, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(text, from, to - from);
        return (int)member.Length;
    }

    private static async Task<(FileSource Source, string Output, CollectingDeadLetterSink Dead)> Ingest(params string[] paths)
    {
        var options = new FileSourceOptions { Schema = Schema() };
        foreach (var path in paths) options.Paths.Add(path);
        var source = FileSource.Create(options);
        var output = TestData.TempDir();
        var dead = new CollectingDeadLetterSink();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { DeadLetters = dead }).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(source.RecordsRead, sink.RowsWritten + dead.Count);
        return (source, output, dead);
    }

    private static Schema Schema()
    {
        // Declared, so that the test does not depend on inference of the damaged file.
        var header = File.ReadLines(s_source).First().Split(',').Select(h => h.Trim('"'));
        return SchemaText.Parse(string.Join(',', header.Select(h => h + ":int64")));
    }

    /// <summary>Flips <paramref name="count"/> bytes from <paramref name="at"/> the way the issue's reproduction did.</summary>
    private static void Flip(byte[] bytes, int at, int count)
    {
        var random = new Random(12);
        for (var i = at; i < at + count; i++) bytes[i] ^= (byte)random.Next(1, 256);
    }

    private static void AssertEveryRowIsInTheSource(List<(long Id, string Row)> output, Dictionary<long, string> source)
    {
        var invented = output.Where(r => !source.TryGetValue(r.Id, out var row) || row != r.Row).ToList();
        Assert.True(invented.Count == 0,
            $"{invented.Count} of {output.Count} output rows are not in the source, e.g. {string.Join(" | ", invented.Take(3).Select(r => r.Row))}");
        Assert.Equal(output.Count, output.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public async Task FlippedBytesInASingleMember_WriteNoRowAndDeadLetterTheFile()
    {
        var dir = TestData.TempDir();
        var bytes = Gzip(File.ReadAllBytes(s_source));
        Flip(bytes, bytes.Length / 2, 64);
        var damaged = Path.Combine(dir, "a_damaged.csv.gz");
        File.WriteAllBytes(damaged, bytes);
        var good = Path.Combine(dir, "b_good.csv");
        File.WriteAllLines(good, File.ReadLines(s_source).Take(101));

        var (source, output, dead) = await Ingest(damaged, good);

        var rows = OutputRows(output);
        AssertEveryRowIsInTheSource(rows, SourceRows());
        // The member never verified, so none of its rows may be used; the next file's 100 rows all arrive.
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), rows.Select(r => r.Id));
        var letter = Assert.Single(dead.Letters);
        Assert.Equal("file", letter.Rule);
        Assert.Contains("a_damaged.csv.gz", letter.Message);
        Assert.Contains("corrupt gzip", letter.Message);
        Assert.Contains("member 1 (from compressed byte 0)", letter.Message);
        Assert.Equal(1, source.FilesFailed);
    }

    [Fact]
    public async Task FlippedBytesInTheSecondOfThreeMembers_KeepOnlyTheWholeLinesOfTheFirst()
    {
        var dir = TestData.TempDir();
        var text = File.ReadAllBytes(s_source);
        // Members cut in the middle of lines: the line spanning members 1 and 2 is torn by the damage and must not be read.
        int[] cuts = [text.Length / 3 + 17, 2 * text.Length / 3 + 5];
        var bytes = Gzip(text, cuts);
        var secondStart = MemberLength(text, 0, cuts[0]);
        var secondLength = MemberLength(text, cuts[0], cuts[1]);
        Flip(bytes, secondStart + secondLength / 2, 64);
        var damaged = Path.Combine(dir, "damaged.csv.gz");
        File.WriteAllBytes(damaged, bytes);

        var (source, output, dead) = await Ingest(damaged);

        var rows = OutputRows(output);
        AssertEveryRowIsInTheSource(rows, SourceRows());
        // Reference: the lines that end inside the first member's bytes (after the header).
        var firstMember = Encoding.UTF8.GetString(text, 0, cuts[0]);
        var wholeLines = firstMember.Split('\n')[1..^1];
        Assert.Equal(wholeLines.Select(l => long.Parse(l.Split(',')[0], CultureInfo.InvariantCulture)), rows.Select(r => r.Id));
        var letter = Assert.Single(dead.Letters);
        Assert.Equal("file", letter.Rule);
        Assert.Contains($"member 2 (from compressed byte {secondStart:N0})", letter.Message);
        Assert.Contains($"{cuts[0]:N0} decompressed bytes", letter.Message);
        Assert.Equal(1, source.FilesFailed);
    }

    [Fact]
    public async Task ABadTrailerChecksum_FailsTheMemberEvenThoughItsDataDecodes()
    {
        var dir = TestData.TempDir();
        var text = File.ReadAllBytes(s_source);
        int[] cuts = [text.Length / 2];
        var bytes = Gzip(text, cuts);
        var first = MemberLength(text, 0, cuts[0]);
        bytes[first - 8] ^= 0x01; // the first member's CRC-32
        var damaged = Path.Combine(dir, "crc.csv.gz");
        File.WriteAllBytes(damaged, bytes);

        var (_, output, dead) = await Ingest(damaged);

        Assert.Empty(OutputRows(output));
        var letter = Assert.Single(dead.Letters);
        Assert.Contains("member 1", letter.Message);
    }

    [Fact]
    public async Task IntactMultiMemberGzip_IsReadWhole()
    {
        var dir = TestData.TempDir();
        var text = File.ReadAllBytes(s_source);
        var path = Path.Combine(dir, "whole.csv.gz");
        File.WriteAllBytes(path, Gzip(text, 1000, text.Length / 2 + 3, text.Length - 10));

        var (_, output, dead) = await Ingest(path);

        Assert.Empty(dead.Letters);
        var rows = OutputRows(output);
        AssertEveryRowIsInTheSource(rows, SourceRows());
        Assert.Equal(30_000, rows.Count);
    }

    [Theory]
    [InlineData("zeros")]
    [InlineData("garbage")]
    public async Task BytesAfterTheLastMember_DoNotCostTheVerifiedRows(string tail)
    {
        // Tape and block copies pad with zeros; gzip(1) decodes such a file whole and warns "trailing garbage ignored".
        var dir = TestData.TempDir();
        var text = File.ReadAllBytes(s_source);
        var padding = tail == "zeros" ? new byte[512] : Encoding.ASCII.GetBytes("not gzip at all\n");
        var path = Path.Combine(dir, "padded.csv.gz");
        File.WriteAllBytes(path, [.. Gzip(text, text.Length / 3), .. padding]);

        var (_, output, dead) = await Ingest(path);

        var rows = OutputRows(output);
        AssertEveryRowIsInTheSource(rows, SourceRows());
        Assert.Equal(30_000, rows.Count);
        // Zeros are padding; other bytes may be a member whose header was damaged, so the file says so.
        if (tail == "zeros") Assert.Empty(dead.Letters);
        else Assert.Contains("are not a gzip member", Assert.Single(dead.Letters).Message);
    }

    [Fact]
    public async Task AnEmptyMemberAndAMemberEndingOnALineBreak_AreReadWhole()
    {
        var dir = TestData.TempDir();
        var text = File.ReadAllBytes(s_source);
        var lineEnd = Array.IndexOf(text, (byte)'\n', text.Length / 2) + 1;
        var path = Path.Combine(dir, "members.csv.gz");
        // An empty member as gzip(1) writes one for empty input: header, empty final deflate block, CRC 0, size 0. Its
        // trailer is eight zero bytes, so its end would match the start of any member.
        byte[] empty = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        File.WriteAllBytes(path, [.. Gzip(text[..lineEnd]), .. empty, .. Gzip(text[lineEnd..]), .. empty]);

        var (_, output, dead) = await Ingest(path);

        Assert.Empty(dead.Letters);
        var rows = OutputRows(output);
        AssertEveryRowIsInTheSource(rows, SourceRows());
        Assert.Equal(30_000, rows.Count);
    }
}
