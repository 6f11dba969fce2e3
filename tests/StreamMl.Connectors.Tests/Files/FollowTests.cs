using System.Globalization;
using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Issue 12 item 4: in watch mode CSV and JSON Lines files are followed as they grow (whole lines only),
/// rotation and truncation are noticed, and a restart resumes from the byte offset of the checkpoint. Every test waits
/// on conditions (rows arriving, a log line), never on a fixed sleep.</summary>
public sealed class FollowTests
{
    private static readonly Schema s_schema = SchemaText.Parse("id:int64,v:string");

    private static string Rows(int first, int count) =>
        string.Concat(Enumerable.Range(first, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},v{i}\n")));

    private static void Append(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    private static FileSourceOptions Options(string dir, LogCapture? log = null, string? checkpoint = null)
    {
        var options = new FileSourceOptions
        {
            Schema = s_schema, Watch = true, WatchInterval = TimeSpan.FromMilliseconds(40), LoggerFactory = log, CheckpointPath = checkpoint,
        };
        options.Paths.Add(Path.Combine(dir, "*.csv"));
        return options;
    }

    private static List<long> Ids(CollectingSink sink) => [.. sink.Rows.Select(r => long.Parse(r.Get("id"), CultureInfo.InvariantCulture)).Order()];

    private static async Task WaitFor(Func<bool> condition, string what, Func<string>? state = null)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"not reached in 30 s: {what}" + (state is null ? "" : $" ({state()})"));
            await Task.Delay(20);
        }
    }

    private static async Task<(IAsyncDisposable Pipeline, CollectingSink Sink, FileSource Source)> Start(FileSourceOptions options)
    {
        var source = FileSource.Create(options);
        var sink = new CollectingSink();
        var pipeline = Pipeline.From(source, new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(30) }).To(sink).Build();
        await pipeline.StartAsync();
        return (pipeline, sink, source);
    }

    [Fact]
    public async Task RowsAppendedAfterTheFirstRead_AreRead_AndAPartialLastLineWaitsForItsLineBreak()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var (pipeline, sink, _) = await Start(Options(dir));
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            Append(path, Rows(101, 50));
            await WaitFor(() => sink.Count == 150, "50 appended rows");

            // A line without its line break, then a new file: once the new file's rows arrive, the followed file was
            // polled with the partial line in it (followed files are polled before the folder is listed).
            Append(path, "151,v1");
            File.WriteAllText(Path.Combine(dir, "b.csv"), "id,v\n" + Rows(1000, 5));
            await WaitFor(() => sink.Count == 155, "the new file's rows");
            Assert.DoesNotContain(151L, Ids(sink));

            Append(path, "51\n");
            await WaitFor(() => sink.Count == 156, "the completed line");
        }
        Assert.Equal(Enumerable.Range(1, 151).Select(i => (long)i).Concat(Enumerable.Range(1000, 5).Select(i => (long)i)), Ids(sink));
        Assert.Equal("v151", sink.Rows.Single(r => r.Get("id") == "151").Get("v")); // the whole line, not its first half
    }

    [Fact]
    public async Task JsonLinesAppends_AreFollowedToo()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "events.jsonl");
        File.WriteAllText(path, "{\"id\":1,\"v\":\"a\"}\n");
        var options = Options(dir);
        options.Paths.Clear();
        options.Paths.Add(Path.Combine(dir, "*.jsonl"));
        var (pipeline, sink, _) = await Start(options);
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 1, "the first object");
            Append(path, "{\"id\":2,\"v\":\"b\"}\n{\"id\":3,");
            await WaitFor(() => sink.Count == 2, "the appended object");
            Append(path, "\"v\":\"c\"}\n");
            await WaitFor(() => sink.Count == 3, "the completed object");
        }
        Assert.Equal([1L, 2, 3], Ids(sink));
        Assert.Equal([1L, 2, 3], sink.Rows.OrderBy(r => r.Offset).Select(r => r.Offset)); // line numbers stay absolute
    }

    [Fact]
    public async Task Rotation_TheRenamedFileIsReadToItsEndAndTheNewFileFromItsStart()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "app.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var log = new LogCapture();
        var (pipeline, sink, source) = await Start(Options(dir, log));
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            // A logger's rotation: last lines written, the file renamed away (to a name the input pattern does not match),
            // a new file under the old name.
            Append(path, Rows(101, 20));
            File.Move(path, Path.Combine(dir, "app.csv.1"));
            File.WriteAllText(path, "id,v\n" + Rows(500, 30));
            await WaitFor(() => sink.Count == 150, "the rotated file's last rows and the new file's rows");
            await WaitFor(() => log.All.Contains("was rotated to", StringComparison.Ordinal), "the rotation log line");
        }
        Assert.Equal(Enumerable.Range(1, 120).Concat(Enumerable.Range(500, 30)).Select(i => (long)i), Ids(sink));
        Assert.Contains("app.csv.1", log.All);
        Assert.Equal(2, source.Files.Count);
    }

    [Fact]
    public async Task Rotation_ToANewFileWithTheSameFirstKiB_IsStillARotation()
    {
        // A wide CSV: its header alone is longer than the 1 KiB fingerprint, so every file of the log starts the same.
        var pad = "pad_" + new string('x', 1_100);
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "app.csv");
        string Wide(int first, int count) => string.Concat(Enumerable.Range(first, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},v{i},p\n")));
        File.WriteAllText(path, $"id,v,{pad}\n" + Wide(1, 100));
        var log = new LogCapture();
        var options = Options(dir, log);
        options.Schema = SchemaText.Parse($"id:int64,v:string,{pad}:string");
        var (pipeline, sink, _) = await Start(options);
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            Append(path, Wide(101, 20));
            File.Move(path, Path.Combine(dir, "app.csv.1"));
            File.WriteAllText(path, $"id,v,{pad}\n" + Wide(500, 30));
            await WaitFor(() => log.All.Contains("was rotated to", StringComparison.Ordinal) || log.All.Contains("truncated", StringComparison.Ordinal), "the rotation noticed");
            // Seen once (CI, stop 26, not reproduced in 14 runs since): the wait below timed out. Its message now carries
            // what was read and logged.
            await WaitFor(() => sink.Count >= 150, "the rotated file's last rows and the new file's rows",
                () => $"{sink.Count} rows read: {string.Join(",", Ids(sink))}; log: {log.All}");
        }
        Assert.Contains("was rotated to", log.All);
        Assert.Equal(Enumerable.Range(1, 120).Concat(Enumerable.Range(500, 30)).Select(i => (long)i), Ids(sink));
    }

    [Fact]
    public async Task Rotation_ANewFileCreatedAfterTheRenameWasNoticed_IsRead()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "app.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var log = new LogCapture();
        var (pipeline, sink, _) = await Start(Options(dir, log));
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            File.Move(path, Path.Combine(dir, "app.csv.1"));
            // The old file changes after the rename (the logger still had it open), so the poll looks at it.
            Append(Path.Combine(dir, "app.csv.1"), Rows(101, 5));
            await WaitFor(() => log.All.Contains("was rotated to", StringComparison.Ordinal), "the rotation log line");
            await WaitFor(() => sink.Count == 105, "the renamed file's last rows");
            File.WriteAllText(path, "id,v\n" + Rows(700, 7));
            await WaitFor(() => sink.Count == 112, "the new file under the old name");
        }
        Assert.Equal(Enumerable.Range(1, 105).Concat(Enumerable.Range(700, 7)).Select(i => (long)i), Ids(sink));
    }

    [Fact]
    public async Task Truncation_IsLoggedAndTheFileIsReadAgainFromItsStart()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var log = new LogCapture();
        var (pipeline, sink, _) = await Start(Options(dir, log));
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            // copytruncate: the file is cut to nothing and written again, shorter than what was read.
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) stream.SetLength(0);
            Append(path, "id,v\n" + Rows(2000, 10));
            await WaitFor(() => sink.Count == 110, "the rows written after the truncation");
        }
        Assert.Contains("was truncated", log.All);
        Assert.Equal(Enumerable.Range(1, 100).Concat(Enumerable.Range(2000, 10)).Select(i => (long)i), Ids(sink));
        // The new content is a new partition: its line numbers start again without clashing with the old ones.
        Assert.Equal(2, sink.Rows.Select(r => r.Partition).Distinct().Count());
    }

    [Fact]
    public async Task ARestart_ResumesAGrowingFileFromTheCheckpointsByteOffset()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var checkpoint = Path.Combine(TestData.TempDir(), "ck.json");
        var (pipeline, sink, _) = await Start(Options(dir, checkpoint: checkpoint));
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 100, "the first 100 rows");
            Append(path, Rows(101, 10));
            await WaitFor(() => sink.Count == 110, "10 appended rows");
            await WaitFor(() => File.ReadAllText(checkpoint).Contains($"\"resume_byte\": {new FileInfo(path).Length}", StringComparison.Ordinal), "the checkpoint at the end");
        }
        // While the job is down, more rows and a partial line.
        Append(path, Rows(111, 40) + "151,v");
        var (second, sink2, source2) = await Start(Options(dir, checkpoint: checkpoint));
        await using (second)
        {
            await WaitFor(() => sink2.Count == 40, "the rows appended while down");
            Append(path, "151\n");
            await WaitFor(() => sink2.Count == 41, "the completed line");
        }
        Assert.Equal(Enumerable.Range(111, 41).Select(i => (long)i), Ids(sink2));
        Assert.All(sink2.Rows, r => Assert.Equal(0, r.Partition));
        Assert.Equal(Enumerable.Range(112, 41).Select(i => (long)i), sink2.Rows.Select(r => r.Offset).Order()); // line 112 holds id 111
        Assert.Single(source2.Files);
    }

    [Fact]
    public async Task AFileFinishedByARunWithoutWatch_IsFollowedFromItsLastCommittedLine()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 100));
        var checkpoint = Path.Combine(TestData.TempDir(), "ck.json");
        var once = Options(dir, checkpoint: checkpoint);
        once.Watch = false;
        var first = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(once), new PipelineOptions()).To(first).Build())
            await pipeline.RunAsync();
        Assert.Equal(100, first.Count);
        Append(path, Rows(101, 25));

        var (pipeline2, sink, _) = await Start(Options(dir, checkpoint: checkpoint));
        await using (pipeline2)
            await WaitFor(() => sink.Count == 25, "the 25 rows appended after the first run");
        Assert.Equal(Enumerable.Range(101, 25).Select(i => (long)i), Ids(sink));
    }

    [Fact]
    public async Task ALargeFollowedFile_IsReadInPiecesWithAbsoluteLineNumbersAndAByteCheckpointAtItsEnd()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n" + Rows(1, 5000));
        var checkpoint = Path.Combine(TestData.TempDir(), "ck.json");
        var options = Options(dir, checkpoint: checkpoint);
        options.FollowPieceBytes = 1000; // about 100 lines a piece
        var (pipeline, sink, _) = await Start(options);
        await using (pipeline)
        {
            await WaitFor(() => sink.Count == 5000, "every row");
            await WaitFor(() => File.ReadAllText(checkpoint).Contains($"\"resume_byte\": {new FileInfo(path).Length}", StringComparison.Ordinal), "the checkpoint at the end");
        }
        Assert.Equal(Enumerable.Range(1, 5000).Select(i => (long)i), Ids(sink));
        Assert.All(sink.Rows, r => Assert.Equal(long.Parse(r.Get("id"), CultureInfo.InvariantCulture) + 1, r.Offset));
        Assert.Contains("\"resume_line\": 5002", File.ReadAllText(checkpoint));
    }
}
