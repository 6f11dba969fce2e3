using System.Text.Json;
using StreamMl.Connectors.DeadLetters;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.DeadLetters;

/// <summary>Dead letters written from several threads are read back by System.Text.Json and by DuckDB.</summary>
public sealed class DeadLetterSinkTests
{
    private static DeadLetter Letter(int thread, int i) =>
        new("p", "stage" + thread, i % 2 == 0 ? "range" : "type", $"value {i} \"quoted\"\nnewline", $"f{thread}.csv line {i}", thread, i, $"raw,{i},ü");

    private static void WriteConcurrently(IDeadLetterSink sink, int threads, int each) =>
        Parallel.For(0, threads, t => { for (var i = 0; i < each; i++) sink.Write(Letter(t, i)); });

    [Fact]
    public void JsonLines_EveryLetterIsOneValidLine()
    {
        var path = Path.Combine(TestData.TempDir(), "dead", "letters.jsonl");
        using (var sink = new JsonLinesDeadLetterSink(path))
        {
            WriteConcurrently(sink, 4, 500);
            Assert.Equal(2000, sink.Count);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(2000, lines.Length);
        var seen = new HashSet<(int, long)>();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var partition = root.GetProperty("partition").GetInt32();
            var offset = root.GetProperty("offset").GetInt64();
            Assert.True(seen.Add((partition, offset)));
            Assert.Equal(Letter(partition, (int)offset), new DeadLetter(
                root.GetProperty("pipeline").GetString()!, root.GetProperty("stage").GetString()!, root.GetProperty("rule").GetString()!,
                root.GetProperty("message").GetString()!, root.GetProperty("location").GetString()!, partition, offset, root.GetProperty("raw").GetString()!));
        }
    }

    [Fact]
    public void JsonLines_Flush_makes_every_letter_readable_before_dispose()
    {
        var path = Path.Combine(TestData.TempDir(), "dead", "flushed.jsonl");
        using var sink = new JsonLinesDeadLetterSink(path, flushEvery: 1_000_000);
        WriteConcurrently(sink, 2, 37);
        sink.Flush();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(74, lines.Length);
        Assert.All(lines, line => JsonDocument.Parse(line).Dispose());
    }

    [Fact]
    public void JsonLines_Flush_syncs_to_disk_only_when_letters_were_written_since_the_last_one()
    {
        // The pipeline flushes the dead letters before every commit of source positions; most commits have none.
        var path = Path.Combine(TestData.TempDir(), "dead", "letters.jsonl");
        long afterFirst, afterIdle, afterSecond;
        var sink = new JsonLinesDeadLetterSink(path);
        try
        {
            sink.Write(Letter(0, 0));
            sink.Flush();
            afterFirst = sink.DiskSyncs;
            for (var i = 0; i < 100; i++) sink.Flush();
            afterIdle = sink.DiskSyncs;
            sink.Write(Letter(0, 1));
            sink.Flush();
            afterSecond = sink.DiskSyncs;
        }
        finally { sink.Dispose(); }
        Assert.Equal(1, afterFirst);
        Assert.Equal(afterFirst, afterIdle);
        Assert.Equal(2, afterSecond);
        Assert.Equal(afterSecond, sink.DiskSyncs); // dispose after a flush has nothing left to sync
        Assert.Equal(2, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void Parquet_LettersReadBackByDuckDb()
    {
        var path = Path.Combine(TestData.TempDir(), "letters.parquet");
        using (var sink = new ParquetDeadLetterSink(path, rowGroupRows: 300))
        {
            WriteConcurrently(sink, 3, 400);
            Assert.Empty(Directory.GetFiles(path, "*.parquet")); // nothing published before a flush or dispose
        }
        var rows = TestData.Query($"SELECT pipeline, stage, rule, message, location, partition, \"offset\", raw FROM read_parquet('{path}/*.parquet') ORDER BY partition, \"offset\"");
        Assert.Equal(1200, rows.Count);
        var expected = Enumerable.Range(0, 3).SelectMany(t => Enumerable.Range(0, 400).Select(i => Letter(t, i))).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            Assert.Equal(expected[i], new DeadLetter((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, (string)r[4]!, (int)r[5]!, (long)r[6]!, (string)r[7]!));
        }
        Assert.Empty(Directory.GetFiles(path, "*.tmp"));
    }

    [Fact]
    public void Parquet_EachFlushPublishesAPartDuckDbReadsWhileTheSinkIsOpen()
    {
        var path = Path.Combine(TestData.TempDir(), "open.parquet");
        using var sink = new ParquetDeadLetterSink(path, rowGroupRows: 100);
        WriteConcurrently(sink, 2, 150); // 300 letters: row groups of 100 go into the open part before the flush
        sink.Flush();
        var first = Assert.Single(sink.PublishedParts);
        Assert.Equal(300, TestData.Scalar($"SELECT count(*) FROM read_parquet('{first}')"));

        sink.Write(Letter(7, 1));
        sink.Flush();
        sink.Flush(); // nothing new: no empty part
        Assert.Equal(2, sink.PublishedParts.Count);
        var rows = TestData.Query($"SELECT partition, \"offset\", rule FROM read_parquet('{path}/*.parquet') ORDER BY partition, \"offset\"");
        Assert.Equal(301, rows.Count);
        Assert.Equal((7, 1L, "type"), ((int)rows[^1][0]!, (long)rows[^1][1]!, (string)rows[^1][2]!));
        Assert.Equal(300, rows.Take(300).Select(r => ((int)r[0]!, (long)r[1]!)).Distinct().Count());

        sink.Write(Letter(8, 2)); // not flushed: a crash here loses it, and its position was never committed
        Assert.Equal(301, TestData.Scalar($"SELECT count(*) FROM read_parquet('{path}/*.parquet')"));
    }

    [Fact]
    public void Parquet_ARestartKeepsEarlierPartsAndAnEmptyRunIsStillReadable()
    {
        var path = Path.Combine(TestData.TempDir(), "restart.parquet");
        using (var sink = new ParquetDeadLetterSink(path)) WriteConcurrently(sink, 1, 10);
        using (var empty = new ParquetDeadLetterSink(path)) Assert.Equal(0, empty.Count);
        using (var sink = new ParquetDeadLetterSink(path)) WriteConcurrently(sink, 1, 5);
        // The empty run adds no part to a folder that has some; the third run numbers its part after the first's.
        Assert.Equal(["part-00000.parquet", "part-00001.parquet"],
            Directory.GetFiles(path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(15, TestData.Scalar($"SELECT count(*) FROM read_parquet('{path}/*.parquet')"));

        var fresh = Path.Combine(TestData.TempDir(), "none.parquet");
        using (new ParquetDeadLetterSink(fresh)) { }
        Assert.Equal(0, TestData.Scalar($"SELECT count(*) FROM read_parquet('{fresh}/*.parquet')"));
    }
}
