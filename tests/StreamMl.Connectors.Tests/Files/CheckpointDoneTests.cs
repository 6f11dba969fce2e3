using System.Text.Json;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Files that yield no record in a run (a header only, or everything committed earlier) are still marked done.</summary>
public sealed class CheckpointDoneTests
{
    [Fact]
    public async Task AHeaderOnlyFile_IsMarkedDone()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "a.csv"), "id,v\n1,2.5\n");
        File.WriteAllText(Path.Combine(dir, "b.csv"), "id,v\n");
        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,v:float64"), CheckpointPath = Path.Combine(dir, "cp.json") };
        options.Paths.Add(Path.Combine(dir, "*.csv"));
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(1, sink.Count);
        using var doc = JsonDocument.Parse(File.ReadAllText(options.CheckpointPath));
        var done = doc.RootElement.GetProperty("files").EnumerateArray()
            .Select(f => (Path.GetFileName(f.GetProperty("path").GetString()), f.GetProperty("done").GetBoolean())).ToList();
        Assert.Equal([("a.csv", true), ("b.csv", true)], done);
    }

    [Fact]
    public async Task AFileCommittedToItsLastRecordBeforeItsEndWasSeen_IsMarkedDoneOnTheNextRun()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        File.WriteAllText(path, "id,v\n1,2.5\n2,3.5\n");
        var checkpoint = Path.Combine(dir, "cp.json");
        // What a run leaves when its last batch ended exactly on the file's last record and it stopped before the next fill.
        File.WriteAllText(checkpoint, JsonSerializer.Serialize(new { version = 1, files = new[] { new { partition = 0, path, committed = 4L, done = false } } }));
        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,v:float64"), CheckpointPath = checkpoint };
        options.Paths.Add(Path.Combine(dir, "*.csv"));
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(0, sink.Count);
        using var doc = JsonDocument.Parse(File.ReadAllText(checkpoint));
        Assert.True(doc.RootElement.GetProperty("files")[0].GetProperty("done").GetBoolean());
    }
}

/// <summary>The checkpoint file is never read as input, even when it sits in an input folder.</summary>
public sealed class CheckpointInInputFolderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACheckpointInTheInputFolder_IsNotReadAsData(bool watch)
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "a.csv"), "id,v\n1,2.5\n2,3.5\n");
        var options = new FileSourceOptions
        {
            Schema = SchemaText.Parse("id:int64,v:float64"), CheckpointPath = Path.Combine(dir, "files.checkpoint.json"),
            Watch = watch, WatchInterval = TimeSpan.FromMilliseconds(20),
        };
        options.Paths.Add(dir);
        for (var run = 0; run < 2; run++)
        {
            File.WriteAllText(Path.Combine(dir, $"b{run}.csv"), $"id,v\n{10 + run},1.5\n");
            var source = FileSource.Create(options);
            var sink = new CollectingSink();
            await using (var pipeline = Pipeline.From(source, new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(20) }).To(sink).Build())
            {
                if (watch)
                {
                    await pipeline.StartAsync();
                    await sink.WaitForAsync(run == 0 ? 3 : 1, TimeSpan.FromSeconds(20));
                    await Task.Delay(400); // the idle checkpoint file would be picked up by the watcher by now
                    await pipeline.StopAsync();
                }
                else await pipeline.RunAsync();
            }
            Assert.DoesNotContain(options.CheckpointPath, source.Files);
            Assert.Equal(0, source.RecordsRejected);
            Assert.Equal(run == 0 ? 3 : 1, sink.Count);
        }
    }
}

/// <summary>Resuming a CSV file after a line whose quote is never closed.</summary>
public sealed class CheckpointAfterAnUnclosedQuoteTests
{
    [Fact]
    public async Task AResumeAfterAnUnclosedQuote_DeliversEveryRowAfterTheCheckpoint()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "a.csv");
        using (var writer = new StreamWriter(path))
        {
            writer.WriteLine("id,v");
            writer.WriteLine("1,1.5");
            writer.WriteLine("\"2,never closed"); // line 3: dead-lettered; the first run restarted parsing at line 4
            for (var id = 4; id <= 2_001; id++) writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id},{id * 0.5}"));
        }
        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,v:float64"), CheckpointPath = Path.Combine(dir, "state", "cp.json") };
        options.Paths.Add(path);

        // A full run tells what the file holds; its checkpoint is then rewound to line 1,000 as a crash would leave it.
        var full = new CollectingSink();
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(full).Build())
            await pipeline.RunAsync();
        Assert.Equal(1 + 1_998, full.Count);
        Assert.Equal([2L, .. Enumerable.Range(4, 1_998).Select(line => (long)line)], full.Rows.Select(r => r.Offset).Order());
        File.WriteAllText(options.CheckpointPath, JsonSerializer.Serialize(new { version = 1, files = new[] { new { partition = 0, path, committed = 1_000L, done = false } } }));

        var source = FileSource.Create(options);
        var resumed = new CollectingSink();
        await using (var pipeline = Pipeline.From(source).To(resumed).Build())
            await pipeline.RunAsync();
        Assert.Equal(Enumerable.Range(1_000, 1_002).Select(line => (long)line), resumed.Rows.Select(r => r.Offset).Order());
        Assert.Equal(0, source.RecordsRejected);
    }
}
