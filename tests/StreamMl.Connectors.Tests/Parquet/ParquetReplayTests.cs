using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Parquet;

/// <summary>The replay rule (docs/files.md): a restart that resumes at its last committed position keeps every row that
/// was published once, whatever the roll mode, and a source whose positions restart with each run never touches an
/// earlier run's files. Output is read back with DuckDB.</summary>
public sealed class ParquetReplayTests
{
    private static readonly Schema s_schema = SchemaText.Parse("id:int64,x:float64");

    private static ColumnBatch Batch(long start, int rows, int partition = 0)
    {
        var batch = new ColumnBatch(s_schema, 4096);
        for (var i = 0; i < rows; i++)
        {
            batch[0].Values<long>()[i] = start + i;
            batch[1].Values<double>()[i] = (start + i) * 0.25;
            batch.RowOffsetsBuffer[i] = start + i;
            batch.RowPartitionsBuffer[i] = partition;
        }
        batch.Length = rows;
        batch.Positions.Add(partition, start, start + rows);
        return batch;
    }

    private static ParquetSinkOptions Options(string output, string mode) => mode switch
    {
        // 10,000 rows per file: a file rolls inside the third 4,096-row batch, so the commit lags the published file.
        "rows" => new ParquetSinkOptions { Directory = output, RollRows = 10_000, RowGroupRows = 3_000 },
        // Every row group passes 1 byte: a file rolls every 3,000 rows, inside batches.
        "bytes" => new ParquetSinkOptions { Directory = output, RollBytes = 1, RowGroupRows = 3_000 },
        _ => new ParquetSinkOptions { Directory = output, RollInterval = TimeSpan.FromTicks(1), PublishOnFlush = true },
    };

    [Theory]
    [InlineData("rows")]
    [InlineData("bytes")]
    [InlineData("time")]
    public async Task ARestartFromTheCommittedPosition_KeepsEveryPublishedRowOnce(string mode)
    {
        const int Batches = 12;
        const int Rows = 4_096;
        var output = TestData.TempDir();

        // The first run dies after 7 batches: whatever it published stays, the open file never appears.
        var durable = -1L;
        var crashed = new ParquetSink(Options(output, mode));
        await crashed.OpenAsync(SinkContext.Standalone(s_schema, s => durable = s), default);
        for (var sequence = 0; sequence < 7; sequence++)
        {
            using var batch = Batch(sequence * (long)Rows, Rows);
            crashed.Write(batch, sequence);
            if (mode == "time") crashed.Flush();
        }
        var published = TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')");
        Assert.True(published > (durable + 1) * Rows || mode == "time", $"the commit ({durable}) should lag the published rows ({published})");

        // The restart reads again from the first batch that was not committed.
        var restart = new ParquetSink(Options(output, mode));
        await restart.OpenAsync(SinkContext.Standalone(s_schema), default);
        for (var sequence = durable + 1; sequence < Batches; sequence++)
        {
            using var batch = Batch(sequence * Rows, Rows);
            restart.Write(batch, sequence);
        }
        await restart.DisposeAsync();

        Assert.Equal(Batches * Rows, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(Batches * Rows, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(Batches * Rows - 1, TestData.Scalar($"SELECT max(id) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(published - (durable + 1) * Rows, restart.RowsAlreadyWritten);
    }

    [Fact]
    public async Task HivePartitionFolders_EachSkipWhatTheyPublished()
    {
        // Three folders fill at the same pace but roll at different rows, so each folder has published a different
        // stretch when the run dies, and the commit lags all of them.
        var schema = SchemaText.Parse("id:int64,city:string");
        ColumnBatch CityBatch(long start)
        {
            var batch = new ColumnBatch(schema, 4096);
            for (var i = 0; i < 4096; i++)
            {
                batch[0].Values<long>()[i] = start + i;
                batch[1].Values<int>()[i] = batch[1].Dictionary!.GetOrAdd("c" + ((start + i) % 3).ToString(System.Globalization.CultureInfo.InvariantCulture));
                batch.RowOffsetsBuffer[i] = start + i;
            }
            batch.Length = 4096;
            batch.Positions.Add(0, start, start + 4096);
            return batch;
        }
        var output = TestData.TempDir();
        ParquetSinkOptions Options() => new() { Directory = output, PartitionBy = "city", RollRows = 3_001, RowGroupRows = 1_000 };
        var durable = -1L;
        var crashed = new ParquetSink(Options());
        await crashed.OpenAsync(SinkContext.Standalone(schema, s => durable = s), default);
        for (var sequence = 0; sequence < 6; sequence++)
        {
            using var batch = CityBatch(sequence * 4096L);
            crashed.Write(batch, sequence);
        }
        var restart = new ParquetSink(Options());
        await restart.OpenAsync(SinkContext.Standalone(schema), default);
        for (var sequence = durable + 1; sequence < 10; sequence++)
        {
            using var batch = CityBatch(sequence * 4096);
            restart.Write(batch, sequence);
        }
        await restart.DisposeAsync();

        Assert.True(restart.RowsAlreadyWritten > 0);
        var glob = TestData.Glob(output);
        Assert.Equal(40_960, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{glob}', hive_partitioning = true)"));
        Assert.Equal(40_960, TestData.Scalar($"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"));
        Assert.Equal(0, TestData.Scalar($"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true) WHERE city <> 'c' || (id % 3)"));
    }

    [Fact]
    public async Task ASourceWhosePositionsRestart_NeverTouchesAnEarlierRunsFiles()
    {
        var output = TestData.TempDir();
        async Task<ParquetSink> RunAsync(long firstId)
        {
            var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, RollRows = 300 });
            await using var pipeline = Pipeline.From(new CounterSource(firstId, 1_000)).To(sink).Build();
            await pipeline.RunAsync();
            return sink;
        }

        var first = await RunAsync(0);
        var firstFiles = first.PublishedFiles.ToList();
        var stamps = firstFiles.Select(File.GetLastWriteTimeUtc).ToList();
        var second = await RunAsync(1_000_000);

        // Both runs numbered their messages 0..999; the second must not take the first's files for its own rows.
        Assert.Equal(0, second.RowsAlreadyWritten);
        Assert.Empty(firstFiles.Intersect(second.PublishedFiles));
        Assert.Equal(stamps, firstFiles.Select(File.GetLastWriteTimeUtc));
        Assert.Equal(2_000, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(1_000, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}') WHERE id < 1000000"));
    }

    [Fact]
    public async Task LeftoverTemporaryFiles_AreRemoved_ButOneALiveWriterHoldsIsKept()
    {
        var output = TestData.TempDir();
        var leftover = Path.Combine(output, ".part-0123456789abcdef0123456789abcdef.parquet.tmp");
        var live = Path.Combine(output, ".part-fedcba9876543210fedcba9876543210.parquet.tmp");
        var foreign = Path.Combine(output, ".other-0123456789abcdef0123456789abcdef.parquet.tmp");
        await File.WriteAllBytesAsync(leftover, new byte[1 << 20]);
        await File.WriteAllBytesAsync(foreign, [1]);
        // A writer in another process holds its file with an exclusive lock, as the sink does.
        using var holder = new FileStream(live, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);

        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), default);
        using (var batch = Batch(0, 10)) sink.Write(batch, 0);
        await sink.DisposeAsync();

        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(foreign)); // another prefix is another sink's
        Assert.Equal(10, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')"));
    }

    /// <summary>Numbers its rows 0, 1, 2... in every run, as MQTT and HTTP sources do.</summary>
    private sealed class CounterSource(long firstId, int rows) : IBatchSource
    {
        private int _next;

        public string Name => "counter";

        public Schema Schema => s_schema;

        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            var count = Math.Min(128, rows - _next);
            var ids = batch[batch.Schema.IndexOf("id")].Values<long>();
            var xs = batch[batch.Schema.IndexOf("x")].Values<double>();
            for (var i = 0; i < count; i++)
            {
                var offset = _next + i;
                ids[i] = firstId + offset;
                xs[i] = offset;
                batch.RowOffsetsBuffer[i] = offset;
                batch.RowPartitionsBuffer[i] = 0;
                batch.Positions.Add(0, offset, offset + 1);
            }
            batch.Length = count;
            _next += count;
            return ValueTask.FromResult(_next < rows);
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges)
        {
        }

        public string Describe(int partition, long offset) => $"message #{offset}";

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
