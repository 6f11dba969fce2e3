using System.Globalization;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Parquet;

/// <summary>A batch the Parquet sink failed to write is never reported durable, so its positions are never committed.</summary>
public sealed class FailedWriteDurabilityTests
{
    [Fact]
    public async Task ABatchWhoseWriteFailed_IsNotCommittedWhenTheSinkCloses()
    {
        var dir = TestData.TempDir();
        var input = Path.Combine(dir, "in.csv");
        using (var writer = new StreamWriter(input))
        {
            writer.WriteLine("id,city");
            for (var id = 0; id < 2_000; id++) writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id},{(id < 1_000 ? "A" : "B")}"));
        }
        var output = Path.Combine(dir, "out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "city=B"), "a file where the sink needs a folder: the second batch cannot be written");

        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,city:string") };
        options.Paths.Add(input);
        var source = FileSource.Create(options);
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, PartitionBy = "city" });
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1_000, ErrorPolicy = ErrorPolicy.Stop }).To(sink).Build())
            await Assert.ThrowsAnyAsync<Exception>(() => pipeline.RunAsync());

        // Batch 0 (lines 2-1,001, city A) was written and published; batch 1 (lines 1,002-2,001, city B) was not.
        Assert.Equal(1_000, TestData.Scalar($"SELECT count(*) FROM read_parquet('{Path.Combine(output, "city=A", "*.parquet")}')"));
        var committed = source.CommittedOffsets.GetValueOrDefault(0);
        Assert.True(committed <= 1_002, $"committed up to line {committed}, but the rows from line 1,002 on were never written");
    }
}
