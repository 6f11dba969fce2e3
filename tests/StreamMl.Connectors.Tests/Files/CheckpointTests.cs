using System.Globalization;
using System.Text.Json;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>The file source's checkpoint file: a restarted job resumes after the last committed batch.</summary>
public sealed class CheckpointTests
{
    private static readonly Schema s_schema = SchemaText.Parse("id:int64,v:float64");

    /// <summary>Writes <paramref name="rows"/> rows with ids from <paramref name="firstId"/>; row i is on line i + 2.</summary>
    private static void WriteCsv(string path, int firstId, int rows)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("id,v");
        for (var i = 0; i < rows; i++) writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{firstId + i},{(firstId + i) * 0.25}"));
    }

    private static FileSourceOptions Options(string dir, bool watch = false)
    {
        var options = new FileSourceOptions { Schema = s_schema, CheckpointPath = Path.Combine(dir, "state", "files.checkpoint.json"), Watch = watch, WatchInterval = TimeSpan.FromMilliseconds(30) };
        options.Paths.Add(Path.Combine(dir, "*.csv"));
        return options;
    }

    private static List<(int Partition, string Path, long Committed, bool Done)> ReadCheckpoint(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return [.. doc.RootElement.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("partition").GetInt32(),
            f.GetProperty("path").GetString()!, f.GetProperty("committed").GetInt64(), f.GetProperty("done").GetBoolean()))];
    }

    private static long Id(CollectedRow row) => long.Parse(row.Get("id"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task ARestartAfterACrashResumesAfterTheCheckpoint_EveryRowAtLeastOnce_DuplicatesOnlyAfterIt()
    {
        var dir = TestData.TempDir();
        WriteCsv(Path.Combine(dir, "a.csv"), 0, 3_000);
        WriteCsv(Path.Combine(dir, "b.csv"), 3_000, 20_000);
        var options = Options(dir);

        // Run 1: a buffering sink that makes rows durable at each flush and crashes in the middle of b.csv.
        var crashing = new CollectingSink(durableOnWrite: false, crashAfterRows: 15_000, writeDelayMs: 3);
        var pipelineOptions = new PipelineOptions { BatchCapacity = 1_000, FlushInterval = TimeSpan.FromMilliseconds(15), ErrorPolicy = ErrorPolicy.Stop };
        await using (var pipeline = Pipeline.From(FileSource.Create(options), pipelineOptions).To(crashing).Build())
            await Assert.ThrowsAnyAsync<Exception>(() => pipeline.RunAsync());
        var checkpoint = ReadCheckpoint(options.CheckpointPath!);
        Assert.Equal([(0, Path.Combine(dir, "a.csv"), 3_002L, true)], checkpoint.Take(1));
        var (_, bPath, resumeLine, bDone) = checkpoint[1];
        Assert.Equal(Path.Combine(dir, "b.csv"), bPath);
        Assert.False(bDone);
        Assert.InRange(resumeLine, 3, 12_002); // committed part way, never past what the sink received
        var committedRows = resumeLine - 2;
        Assert.True(crashing.DurableRows >= 3_000 + committedRows, $"durable {crashing.DurableRows}, checkpoint at line {resumeLine}");

        // Run 2 from the checkpoint: a.csv is not read again, b.csv starts at the committed line.
        var source = FileSource.Create(options);
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1_000 }).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(20_000 - committedRows, sink.Count);
        Assert.All(sink.Rows, r => Assert.Equal(1, r.Partition));
        Assert.Equal(resumeLine, sink.Rows.Min(r => r.Offset));
        Assert.Equal(20_000 - committedRows, source.RecordsRead);

        var first = crashing.Rows.Select(Id).ToHashSet();
        var second = sink.Rows.Select(Id).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 23_000).Select(i => (long)i), first.Union(second).Order());
        var duplicates = first.Intersect(second).ToList();
        Assert.All(duplicates, id => Assert.True(id - 3_000 + 2 >= resumeLine, $"id {id} (line {id - 3_000 + 2}) was before the checkpoint (line {resumeLine})"));
        Assert.All(ReadCheckpoint(options.CheckpointPath!), e => Assert.True(e.Done));

        // Run 3: everything is done; nothing is read.
        var idle = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(idle).Build())
            await pipeline.RunAsync();
        Assert.Equal(0, idle.Count);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(options.CheckpointPath!)!, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public async Task WatchModeRestarted_ReadsOnlyFilesThatArrivedSince_WithNewPartitionNumbers()
    {
        var dir = TestData.TempDir();
        WriteCsv(Path.Combine(dir, "b.csv"), 0, 500);
        var options = Options(dir, watch: true);
        var first = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(options), new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(20) }).To(first).Build())
        {
            await pipeline.StartAsync();
            await first.WaitForAsync(500, TimeSpan.FromSeconds(20));
            await pipeline.StopAsync();
        }
        // A file sorting before the first one arrives while the job is down.
        WriteCsv(Path.Combine(dir, "a.csv"), 1_000, 300);
        var source = FileSource.Create(options);
        Assert.Equal([Path.Combine(dir, "b.csv"), Path.Combine(dir, "a.csv")], source.Files);
        var second = new CollectingSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(20) }).To(second).Build())
        {
            await pipeline.StartAsync();
            await second.WaitForAsync(300, TimeSpan.FromSeconds(20));
            // b.csv (partition 0) is read before a.csv: once a.csv's last row is in, b.csv was skipped or re-read already.
            await Eventually.TrueAsync(() => second.Rows.Any(r => Id(r) == 1_299), "the last row of a.csv");
            await pipeline.StopAsync();
        }
        Assert.Equal(Enumerable.Range(1_000, 300).Select(i => (long)i), second.Rows.Select(Id).Order());
        Assert.All(second.Rows, r => Assert.Equal(1, r.Partition));
        // In watch mode CSV files are followed (they may grow): not done, but committed to their last line, with the
        // byte offset to resume from at their end.
        Assert.Equal([502L, 302L], ReadCheckpoint(options.CheckpointPath!).Select(e => e.Committed));
        using var doc = JsonDocument.Parse(File.ReadAllText(options.CheckpointPath!));
        Assert.Equal([new FileInfo(Path.Combine(dir, "b.csv")).Length, new FileInfo(Path.Combine(dir, "a.csv")).Length],
            doc.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("resume_byte").GetInt64()));
    }

    [Fact]
    public void ACorruptCheckpoint_IsAClearErrorNamingTheFile()
    {
        var dir = TestData.TempDir();
        WriteCsv(Path.Combine(dir, "a.csv"), 0, 10);
        var options = Options(dir);
        Directory.CreateDirectory(Path.GetDirectoryName(options.CheckpointPath!)!);
        File.WriteAllText(options.CheckpointPath!, "{\"version\":1,\"files\":[{\"partition\":0");
        var error = Assert.Throws<BadInputException>(() => FileSource.Create(options));
        Assert.Contains(options.CheckpointPath!, error.Message);
        Assert.Contains("delete it to read everything again", error.Message);
    }
}
