using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Split;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Split;

/// <summary>A split restarted from its last committed position keeps every row once, on one side, read back with DuckDB.
/// The train side publishes about four times as often as the test side, so when the run dies the two sides have
/// published different stretches and the commit lags both.</summary>
public sealed class SplitReplayTests
{
    private static readonly Schema s_schema = SchemaText.Parse("id:int64,label:int64");
    private const int Rows = 4_096;

    private static ColumnBatch Batch(long start)
    {
        var batch = new ColumnBatch(s_schema, Rows);
        for (var i = 0; i < Rows; i++)
        {
            var id = start + i;
            batch[0].Values<long>()[i] = id;
            // Three classes of uneven size, mixed along the stream.
            batch[1].Values<long>()[i] = ((id * 2_654_435_761L >> 7) % 7) switch { 0 => 2, 1 or 2 => 1, _ => 0 };
            batch.RowOffsetsBuffer[i] = id;
        }
        batch.Length = Rows;
        batch.Positions.Add(0, start, start + Rows);
        return batch;
    }

    private static TrainTestSplitSink Sink(string output, string? stratify) => new(new TrainTestSplitOptions
    {
        Directory = output,
        StratifyBy = stratify,
        TestFraction = 0.2,
        Seed = 3,
        Parquet = new ParquetSinkOptions { RollRows = 3_000, RowGroupRows = 1_000 },
    });

    [Theory]
    [InlineData("label")]
    [InlineData(null)]
    public async Task ARestartFromTheCommit_KeepsEveryRowOnceOnOneSide(string? stratify)
    {
        const int Batches = 12;
        var output = TestData.TempDir();
        var durable = -1L;
        var crashed = Sink(output, stratify);
        await crashed.OpenAsync(SinkContext.Standalone(s_schema, s => durable = s), default);
        for (var sequence = 0; sequence < 7; sequence++)
        {
            using var batch = Batch(sequence * (long)Rows);
            crashed.Write(batch, sequence);
        }
        // Killed: nothing more is published.
        Assert.True(durable < 6, $"the commit ({durable}) should lag the published files");

        var restart = Sink(output, stratify);
        await restart.OpenAsync(SinkContext.Standalone(s_schema), default);
        for (var sequence = durable + 1; sequence < Batches; sequence++)
        {
            using var batch = Batch(sequence * Rows);
            restart.Write(batch, sequence);
        }
        await restart.DisposeAsync();

        var train = TestData.Glob(Path.Combine(output, "train"));
        var test = TestData.Glob(Path.Combine(output, "test"));
        var all = $"(SELECT id FROM read_parquet('{train}') UNION ALL SELECT id FROM read_parquet('{test}'))";
        Assert.Equal(Batches * Rows, TestData.Scalar($"SELECT count(DISTINCT id) FROM {all}"));
        Assert.Equal(Batches * Rows, TestData.Scalar($"SELECT count(*) FROM {all}"));
    }
}
