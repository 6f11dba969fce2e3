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
