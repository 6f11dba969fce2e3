using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Parquet input files damaged in their data pages, beside an intact one: whatever the Parquet reader throws
/// for a damaged file, that file is dead-lettered and the intact file is read in full (the run used to stop when the
/// reader threw something other than an I/O or format exception).</summary>
public sealed class CorruptParquetInputTests
{
    private static async Task<string> WriteParquetAsync(string folder, long first, int rows)
    {
        var schema = SchemaText.Parse("id:int64,x:float64");
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = folder, RowGroupRows = 1_000, Compression = ParquetCompression.None });
        await sink.OpenAsync(SinkContext.Standalone(schema), default);
        using (var batch = new ColumnBatch(schema, rows))
        {
            for (var i = 0; i < rows; i++)
            {
                batch[0].Values<long>()[i] = first + i;
                batch[1].Values<double>()[i] = (first + i) * 0.5;
            }
            batch.Length = rows;
            sink.Write(batch, 0);
        }
        await sink.DisposeAsync();
        return Directory.GetFiles(folder, "*.parquet").Single();
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(0.75)]
    public async Task ADamagedParquetFile_IsDeadLettered_AndTheIntactOneIsReadInFull(double where)
    {
        var input = TestData.TempDir();
        var good = await WriteParquetAsync(Path.Combine(input, "good"), 0, 4_000);
        var bad = await WriteParquetAsync(Path.Combine(input, "bad"), 1_000_000, 4_000);
        var bytes = await File.ReadAllBytesAsync(bad);
        var start = (int)(bytes.Length * where);
        for (var i = start; i < start + 64; i++) bytes[i] ^= 0x5A;
        await File.WriteAllBytesAsync(bad, bytes);

        var run = await TestData.IngestToParquetAsync(new FileSourceOptions { Paths = { good, bad } });

        var ids = TestData.Query($"SELECT id FROM read_parquet('{TestData.Glob(run.Output)}')").Select(r => Convert.ToInt64(r[0])).ToList();
        Assert.Equal(4_000, ids.Count(id => id < 1_000_000));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // Rows of the damaged file that were read before the damage are real rows of it, never invented ones.
        Assert.All(ids.Where(id => id >= 1_000_000), id => Assert.InRange(id, 1_000_000, 1_003_999));
    }
}
