using System.Globalization;
using ParquetSharp;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Parquet;

/// <summary>The Parquet sink's files are inspected with ParquetSharp (Arrow's C++ reader) and DuckDB.</summary>
public sealed class ParquetSinkTests
{
    private static async Task<(FileSource Source, ParquetSink Sink)> Run(string input, ParquetSinkOptions sinkOptions,
        Action<FileSourceOptions>? configure = null, PipelineOptions? pipelineOptions = null)
    {
        // Each run gets a checkpoint of its own, so a second run is a restart whose checkpoint committed nothing: it reads
        // from the start with stable positions, which is what the replay rule is about (without any checkpoint a rerun
        // is at least once, FolderRerunTests).
        var options = new FileSourceOptions { CheckpointPath = Path.Combine(TestData.TempDir(), "checkpoint.json") };
        options.Paths.Add(input);
        configure?.Invoke(options);
        var source = FileSource.Create(options);
        var sink = new ParquetSink(sinkOptions);
        await using (var pipeline = Pipeline.From(source, pipelineOptions).To(sink).Build())
            await pipeline.RunAsync();
        return (source, sink);
    }

    [Theory]
    [InlineData("bytes")]
    [InlineData("time")]
    [InlineData("flush")]
    public async Task AReplayWithOtherFileBoundaries_LeavesEveryRowExactlyOnce(string mode)
    {
        var output = TestData.TempDir();
        var input = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        await Run(input, new ParquetSinkOptions { Directory = output, RollRows = 7_000, RowGroupRows = 2_000 });
        var first = Directory.GetFiles(output, "*.parquet").Select(Path.GetFileName).ToHashSet();
        Assert.Equal(5, first.Count);

        // The replay cuts its files elsewhere: after every row group (bytes), at every append (age), at every flush.
        var (replay, pipeline) = mode switch
        {
            "bytes" => (new ParquetSinkOptions { Directory = output, RowGroupRows = 1_500, RollBytes = 1 }, null),
            "time" => (new ParquetSinkOptions { Directory = output, RollInterval = TimeSpan.FromTicks(1) }, null),
            _ => (new ParquetSinkOptions { Directory = output, PublishOnFlush = true },
                new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(1), BatchCapacity = 1_000 }),
        };
        var (_, again) = await Run(input, replay, pipelineOptions: pipeline);
        var second = Directory.GetFiles(output, "*.parquet").Select(Path.GetFileName).ToHashSet();
        // Every row of the replay is already in a published file: nothing is written again and nothing is deleted.
        Assert.True(second.SetEquals(first));
        Assert.Equal(30_000, again.RowsAlreadyWritten);
        Assert.Equal(0, again.RowsWritten);

        Assert.Equal(30_000, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(30_000, TestData.Scalar($"SELECT count(DISTINCT ID) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void FileNames_ParseBackToTheirSourceRange()
    {
        Assert.True(Connectors.Parquet.Internal.OutputFile.TryParseRange("part-0003.000000000002-0012.000000010001.parquet", "part", out var first, out var last));
        Assert.Equal((3, 2L), first);
        Assert.Equal((12, 10_001L), last);
        Assert.False(Connectors.Parquet.Internal.OutputFile.TryParseRange("part-0003.000000000002.parquet", "part", out _, out _));
        Assert.False(Connectors.Parquet.Internal.OutputFile.TryParseRange("other-0003.000000000002-0012.000000010001.parquet", "part", out _, out _));
    }

    [Fact]
    public async Task RollsByRows_NamesFilesBySourcePositions_AndAReplayLeavesThemAlone()
    {
        var output = TestData.TempDir();
        var input = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        ParquetSinkOptions Options() => new() { Directory = output, RollRows = 10_000, RowGroupRows = 4_000, Compression = ParquetCompression.Zstd };
        await Run(input, Options());
        var first = Directory.GetFiles(output, "*.parquet").Order(StringComparer.Ordinal).ToArray();
        var stampsBefore = first.Select(File.GetLastWriteTimeUtc).ToArray();
        await Task.Delay(20);
        await Run(input, Options());
        var second = Directory.GetFiles(output, "*.parquet").Order(StringComparer.Ordinal).ToArray();

        // Data rows are lines 2..30001; each file holds 10,000 of them.
        var expected = Enumerable.Range(0, 3).Select(k => Path.Combine(output,
            string.Create(CultureInfo.InvariantCulture, $"part-0000.{2 + 10_000 * k:D12}-0000.{10_001 + 10_000 * k:D12}.parquet"))).ToArray();
        Assert.Equal(expected, first);
        Assert.Equal(expected, second);
        Assert.All(second.Zip(stampsBefore), p => Assert.Equal(p.Second, File.GetLastWriteTimeUtc(p.First)));
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(30_000, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')"));
        Assert.Equal(30_000, TestData.Scalar($"SELECT count(DISTINCT ID) FROM read_parquet('{TestData.Glob(output)}')"));

        foreach (var file in second)
        {
            using var reader = new ParquetFileReader(file);
            var meta = reader.FileMetaData;
            Assert.Equal(10_000, meta.NumRows);
            Assert.Equal(3, meta.NumRowGroups);
            using var group = reader.RowGroup(0);
            Assert.Equal(4_000, group.MetaData.NumRows);
            Assert.Equal(Compression.Zstd, group.MetaData.GetColumnChunkMetaData(0).Compression);
        }
    }

    [Fact]
    public async Task HivePartitionsByColumn_ReadBackWithHivePartitioning()
    {
        var output = TestData.TempDir();
        var input = TestData.Data("california_housing", "housing.csv");
        await Run(input, new ParquetSinkOptions { Directory = output, PartitionBy = "ocean_proximity" });
        var (_, rows) = TestData.PlainCsv(input);
        var folders = Directory.GetDirectories(output).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(rows.Select(r => "ocean_proximity=" + r[9]).Distinct().Order(StringComparer.Ordinal), folders);

        var counts = TestData.Query($"SELECT ocean_proximity, count(*), sum(median_house_value) FROM read_parquet('{TestData.Glob(output)}', hive_partitioning = true) GROUP BY 1 ORDER BY 1");
        var expected = rows.GroupBy(r => r[9]).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Count, counts.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Key, counts[i][0]);
            Assert.Equal(expected[i].Count(), Convert.ToInt64(counts[i][1], CultureInfo.InvariantCulture));
            Assert.Equal(expected[i].Sum(r => double.Parse(r[8], CultureInfo.InvariantCulture)), (double)counts[i][2]!, 1e-6);
        }
        // The partition column lives in the folder name only.
        var firstFile = Directory.GetFiles(output, "*.parquet", SearchOption.AllDirectories)[0];
        using var reader = new ParquetFileReader(firstFile);
        Assert.DoesNotContain("ocean_proximity", Enumerable.Range(0, reader.FileMetaData.NumColumns).Select(i => reader.FileMetaData.Schema.Column(i).Name));
    }

    [Fact]
    public async Task HivePartitionsByEventDate()
    {
        var output = TestData.TempDir();
        var input = TestData.Data("nab", "nyc_taxi.csv");
        await Run(input, new ParquetSinkOptions { Directory = output, PartitionByEventDate = true }, o => o.EventTimeColumn = "timestamp");
        var (_, rows) = TestData.PlainCsv(input);
        var days = rows.GroupBy(r => r[0][..10]).ToDictionary(g => g.Key, g => g.Count());
        var folders = Directory.GetDirectories(output).Select(Path.GetFileName).ToList();
        Assert.Equal(days.Keys.Select(d => "date=" + d).Order(StringComparer.Ordinal), folders.Order(StringComparer.Ordinal));
        foreach (var (day, count) in days)
        {
            var glob = Path.Combine(output, "date=" + day, "*.parquet");
            Assert.Equal(count, TestData.Scalar($"SELECT count(*) FROM read_parquet('{glob}') WHERE strftime(timestamp, '%Y-%m-%d') = '{day}'"));
        }
    }

    private static readonly Schema s_schema = SchemaText.Parse("id:int64,x:float64,label:string,ok:bool,ts:timestamp");

    private static ColumnBatch Batch(int start, int rows)
    {
        var batch = new ColumnBatch(s_schema, 4096);
        for (var i = 0; i < rows; i++)
        {
            var id = start + i;
            batch[0].Values<long>()[i] = id;
            if (id % 5 == 0) batch[1].SetNull(i); else batch[1].Values<double>()[i] = id * 0.5;
            batch[2].Values<int>()[i] = batch[2].Dictionary!.GetOrAdd(id % 2 == 0 ? "even" : "odd");
            batch[3].Values<byte>()[i] = (byte)(id % 3 == 0 ? 1 : 0);
            batch[4].Values<long>()[i] = 1_700_000_000_000_000L + id * 1_000_000L;
            batch.RowOffsetsBuffer[i] = id;
        }
        batch.Length = rows;
        return batch;
    }

    [Fact]
    public async Task GroupMembersSharingAFolder_KeepEachOthersFiles_AndAReplaySkipsWhatIsPublished()
    {
        // Two consumer-group members write Kafka partitions {0, 2} and {1} into one folder. Member A's file spans
        // positions 0000.* to 0002.*, which lexically contains member B's partition 1: B's file must survive A's publication.
        var output = TestData.TempDir();
        async Task WriteAsync(params (int Partition, int Start, int Rows)[] runs)
        {
            var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
            await sink.OpenAsync(SinkContext.Standalone(s_schema), CancellationToken.None);
            var sequence = 0L;
            foreach (var (partition, start, rows) in runs)
            {
                using var batch = Batch(partition * 1_000 + start, rows);
                for (var i = 0; i < rows; i++)
                {
                    batch.RowPartitionsBuffer[i] = partition;
                    batch.RowOffsetsBuffer[i] = start + i;
                }
                sink.Write(batch, sequence++);
            }
            await sink.DisposeAsync();
        }
        long Count(string where = "true") => TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}') WHERE {where}");

        await WriteAsync((1, 0, 100));                 // member B
        await WriteAsync((0, 0, 100), (2, 0, 100));    // member A
        Assert.Equal(300, Count());
        Assert.Equal(100, Count("id BETWEEN 1000 AND 1999"));

        // A crashed run of partition 1 replayed from its start writes only the rows after the published ones.
        await WriteAsync((1, 0, 150));
        Assert.Equal(100, Count("id BETWEEN 0 AND 999"));
        Assert.Equal(150, Count("id BETWEEN 1000 AND 1999"));
        Assert.Equal(100, Count("id BETWEEN 2000 AND 2999"));

        // Member A's file spans two partitions: its footer tells what it holds of each, so A's replay adds only new rows.
        await WriteAsync((0, 0, 120), (2, 0, 100));
        Assert.Equal(120, Count("id BETWEEN 0 AND 999"));
        Assert.Equal(100, Count("id BETWEEN 2000 AND 2999"));
        Assert.Equal(370, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{TestData.Glob(output)}')"));
    }

    [Fact]
    public async Task FilesAreInvisibleUntilPublished_AndDurabilityFollowsPublication()
    {
        var output = TestData.TempDir();
        var durable = new List<long>();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, RowGroupRows = 1000 });
        await sink.OpenAsync(SinkContext.Standalone(s_schema, durable.Add), default);
        using var a = Batch(0, 3000);
        using var b = Batch(3000, 3000);
        b.Selection.Deselect(10);
        b.Selection.Deselect(2999);
        sink.Write(a, 0);
        sink.Write(b, 1);
        Assert.Empty(Directory.GetFiles(output, "*.parquet"));
        Assert.Empty(durable);
        sink.Flush(); // a periodic flush does not cut files: their boundaries must not depend on timing
        Assert.Empty(Directory.GetFiles(output, "*.parquet"));
        await sink.DisposeAsync();
        Assert.Equal([1L], durable);
        var file = Assert.Single(Directory.GetFiles(output, "*.parquet"));
        Assert.Equal("part-0000.000000000000-0000.000000005998.parquet", Path.GetFileName(file));

        var rows = TestData.Query($"SELECT id, x, label, ok, ts FROM read_parquet('{file.Replace("'", "''")}') ORDER BY id");
        var expectedIds = Enumerable.Range(0, 6000).Where(i => i != 3010 && i != 5999).ToArray();
        Assert.Equal(expectedIds.Length, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var id = expectedIds[i];
            Assert.Equal((long)id, rows[i][0]);
            Assert.Equal(id % 5 == 0 ? null : id * 0.5, (double?)rows[i][1]);
            Assert.Equal(id % 2 == 0 ? "even" : "odd", rows[i][2]);
            Assert.Equal(id % 3 == 0, rows[i][3]);
            Assert.Equal(DateTime.UnixEpoch.AddTicks((1_700_000_000_000_000L + id * 1_000_000L) * 10), ToUtc(rows[i][4]));
        }
    }

    private static DateTime ToUtc(object? value) => value switch
    {
        DateTimeOffset o => o.UtcDateTime,
        DateTime d => DateTime.SpecifyKind(d, DateTimeKind.Utc),
        _ => throw new InvalidCastException($"not a timestamp: {value}"),
    };

    [Fact]
    public async Task RollsByBytesAndByAge()
    {
        var bySize = TestData.TempDir();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = bySize, RowGroupRows = 1000, RollBytes = 1 });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), default);
        using (var first = Batch(0, 4000)) sink.Write(first, 0);
        using (var second = Batch(4000, 500)) sink.Write(second, 1);
        await sink.DisposeAsync();
        // Every completed row group passes 1 byte, so each one closes its file: 4 full groups and the 500-row rest.
        var sizes = Directory.GetFiles(bySize, "*.parquet").Select(f => new ParquetSharp.ParquetFileReader(f)).Select(r => { using (r) return r.FileMetaData.NumRows; }).Order();
        Assert.Equal([500L, 1000, 1000, 1000, 1000], sizes);

        var byAge = TestData.TempDir();
        sink = new ParquetSink(new ParquetSinkOptions { Directory = byAge, RollInterval = TimeSpan.FromMilliseconds(30) });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), default);
        for (var i = 0; i < 3; i++)
        {
            using var batch = Batch(i * 100, 100);
            sink.Write(batch, i);
            await Task.Delay(80);
        }
        await sink.DisposeAsync();
        Assert.Equal(3, Directory.GetFiles(byAge, "*.parquet").Length);
        Assert.Equal(300, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{TestData.Glob(byAge)}')"));
    }

    [Fact]
    public async Task PublishOnFlush_MakesEveryFlushDurable()
    {
        var output = TestData.TempDir();
        var durable = new List<long>();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, PublishOnFlush = true });
        await sink.OpenAsync(SinkContext.Standalone(s_schema, durable.Add), default);
        using var a = Batch(0, 100);
        using var b = Batch(100, 100);
        sink.Write(a, 0);
        sink.Flush();
        sink.Write(b, 1);
        sink.Flush();
        Assert.Equal([0L, 1L], durable);
        Assert.Equal(2, Directory.GetFiles(output, "*.parquet").Length);
        Assert.Equal(200, TestData.Scalar($"SELECT count(DISTINCT id) FROM read_parquet('{TestData.Glob(output)}')"));
        await sink.DisposeAsync();
    }

    [Fact]
    public async Task Write_AllocatesNothingBetweenRowGroups()
    {
        var schema = SchemaText.Parse("id:int64,x:float64,y:float32");
        var output = TestData.TempDir();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, RowGroupRows = 1 << 20 });
        await sink.OpenAsync(SinkContext.Standalone(schema), default);
        using var batch = new ColumnBatch(schema, 4096);
        batch.Length = 4096;
        batch[1].SetNull(7);
        // The first writes open the file, grow the buffers to the row-group size and let the JIT settle.
        for (var i = 0; i < 200; i++) sink.Write(batch, i);
        var written = 200;
        var allocated = SteadyState.AllocatedBytes(() => sink.Write(batch, written++));
        Assert.Equal(0, allocated);
        await sink.DisposeAsync();
        Assert.Equal(written * 4096, TestData.Scalar($"SELECT count(*) FROM read_parquet('{TestData.Glob(output)}')"));
    }
}
