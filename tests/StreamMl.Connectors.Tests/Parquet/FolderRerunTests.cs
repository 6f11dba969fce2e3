using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Parquet;

/// <summary>A folder read again without a checkpoint, after a file that sorts first was added: without a checkpoint a
/// file's number comes from the order of the folder, so positions are not stable and nothing may be skipped as
/// "already published" (it was: the new file took number 0 and its rows were dropped as the old file's). Read back
/// with DuckDB.</summary>
public sealed class FolderRerunTests
{
    private static void WriteCsv(string path, long first, int rows)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("id,x");
        for (var i = 0L; i < rows; i++) writer.WriteLine($"{first + i},{(first + i) * 0.5}");
    }

    private static async Task RunAsync(string input, string output)
    {
        var source = FileSource.Create(new FileSourceOptions { Paths = { input }, Schema = SchemaText.Parse("id:int64,x:float64") });
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1_000 })
            .To(new ParquetSink(new ParquetSinkOptions { Directory = output }))
            .Build();
        await pipeline.RunAsync();
    }

    [Fact]
    public async Task AFileAddedBeforeTheOthers_IsWrittenInFull_WhenTheFolderIsReadAgainWithoutACheckpoint()
    {
        var input = TestData.TempDir();
        var output = TestData.TempDir();
        WriteCsv(Path.Combine(input, "b.csv"), 1_000_000, 5_000);
        await RunAsync(input, output);
        WriteCsv(Path.Combine(input, "a.csv"), 0, 3_000);
        await RunAsync(input, output);

        var ids = TestData.Query($"SELECT DISTINCT id FROM read_parquet('{TestData.Glob(output)}')").Select(r => Convert.ToInt64(r[0])).ToHashSet();
        Assert.Equal(3_000, ids.Count(id => id < 1_000_000));
        Assert.Equal(5_000, ids.Count(id => id >= 1_000_000));
    }

    [Fact]
    public async Task OneFileRegeneratedBetweenRuns_HasItsNewRowsWritten_WhenReadAgainWithoutACheckpoint()
    {
        var input = TestData.TempDir();
        var output = TestData.TempDir();
        var file = Path.Combine(input, "daily.csv");
        WriteCsv(file, 0, 5_000);
        await RunAsync(file, output);
        WriteCsv(file, 1_000_000, 5_000); // tomorrow's export, same name and line count
        await RunAsync(file, output);

        var ids = TestData.Query($"SELECT DISTINCT id FROM read_parquet('{TestData.Glob(output)}')").Select(r => Convert.ToInt64(r[0])).ToHashSet();
        Assert.Equal(5_000, ids.Count(id => id >= 1_000_000));
    }
}
