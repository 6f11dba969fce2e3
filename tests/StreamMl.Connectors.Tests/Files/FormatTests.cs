using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ParquetSharp;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>JSON Lines, gzip, globs, Parquet input and folder watching, each compared with an independent reference.</summary>
public sealed class FormatTests
{
    private static async Task<(FileSource Source, string Output, CollectingDeadLetterSink Dead)> Ingest(FileSourceOptions options)
    {
        var source = FileSource.Create(options);
        var output = TestData.TempDir();
        var dead = new CollectingDeadLetterSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { DeadLetters = dead }).To(new ParquetSink(new ParquetSinkOptions { Directory = output })).Build())
            await pipeline.RunAsync();
        return (source, output, dead);
    }

    [Fact]
    public async Task JsonLines_NestedPathsInferredAndReadBack()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "events.jsonl.gz");
        var random = new Random(5);
        var expected = new List<(long Id, double Score, string City, bool Vip, DateTime At)>();
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        using (var writer = new StreamWriter(gzip, new UTF8Encoding(false)))
        {
            for (var i = 0; i < 5000; i++)
            {
                var item = (Id: (long)i, Score: Math.Round(random.NextDouble() * 100, 3), City: "c" + random.Next(20), Vip: random.Next(2) == 0,
                    At: new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 37));
                expected.Add(item);
                writer.WriteLine(JsonSerializer.Serialize(new
                {
                    id = item.Id, user = new { address = new { city = item.City }, vip = item.Vip }, score = item.Score,
                    at = item.At.ToString("O", CultureInfo.InvariantCulture), tags = new[] { "x", "y" },
                }));
            }
        }
        var options = new FileSourceOptions();
        options.Paths.Add(Path.Combine(dir, "*.jsonl.gz"));
        var (source, output, dead) = await Ingest(options);
        Assert.Empty(dead.Letters);
        Assert.Equal(["id:int64?", "user.address.city:string?", "user.vip:bool?", "score:float64?", "at:timestamp?"], source.Schema.Select(f => f.ToString()));
        var rows = TestData.Query($"SELECT id, \"user.address.city\", \"user.vip\", score, \"at\" FROM read_parquet('{TestData.Glob(output)}') ORDER BY id");
        Assert.Equal(expected.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(expected[i].Id, rows[i][0]);
            Assert.Equal(expected[i].City, rows[i][1]);
            Assert.Equal(expected[i].Vip, rows[i][2]);
            Assert.Equal(expected[i].Score, rows[i][3]);
            Assert.Equal(expected[i].At, rows[i][4] is DateTimeOffset o ? o.UtcDateTime : DateTime.SpecifyKind((DateTime)rows[i][4]!, DateTimeKind.Utc));
        }
    }

    [Fact]
    public async Task ParquetSource_ReadsAFileWrittenByParquetSharp()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "input.parquet");
        var ids = Enumerable.Range(0, 10_000).Select(i => i).ToArray();
        var values = ids.Select(i => i % 11 == 0 ? (float?)null : i / 3f).ToArray();
        var labels = ids.Select(i => i % 4 == 0 ? null : "L" + (i % 4)).ToArray();
        var times = ids.Select(i => new DateTime(2020, 5, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i)).ToArray();
        var columns = new ParquetSharp.Column[] { new Column<int>("id"), new Column<float?>("value"), new Column<string>("label"), new Column<DateTime>("at", LogicalType.Timestamp(true, TimeUnit.Micros)) };
        using (var writer = new ParquetFileWriter(path, columns))
        {
            foreach (var chunk in ids.Chunk(3000))
            {
                using var group = writer.AppendRowGroup();
                var from = chunk[0];
                using (var w = group.NextColumn().LogicalWriter<int>()) w.WriteBatch(chunk);
                using (var w = group.NextColumn().LogicalWriter<float?>()) w.WriteBatch(values.AsSpan(from, chunk.Length).ToArray());
                using (var w = group.NextColumn().LogicalWriter<string>()) w.WriteBatch(labels.AsSpan(from, chunk.Length).ToArray()!);
                using (var w = group.NextColumn().LogicalWriter<DateTime>()) w.WriteBatch(times.AsSpan(from, chunk.Length).ToArray());
            }
            writer.Close();
        }
        var options = new FileSourceOptions();
        options.Paths.Add(dir);
        var (source, output, dead) = await Ingest(options);
        Assert.Empty(dead.Letters);
        Assert.Equal(["id:int32?", "value:float32?", "label:string?", "at:timestamp?"], source.Schema.Select(f => f.ToString()));
        var rows = TestData.Query($"SELECT id, value, label, \"at\" FROM read_parquet('{TestData.Glob(output)}') ORDER BY id");
        Assert.Equal(ids.Length, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(ids[i], rows[i][0]);
            Assert.Equal(values[i], (float?)rows[i][1]);
            Assert.Equal(labels[i], rows[i][2]);
            Assert.Equal(times[i], rows[i][3] is DateTimeOffset o ? o.UtcDateTime : DateTime.SpecifyKind((DateTime)rows[i][3]!, DateTimeKind.Utc));
        }
    }

    [Fact]
    public async Task Glob_ReadsEveryMatchingFileAsItsOwnPartition()
    {
        var dir = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "a", "b"));
        File.WriteAllText(Path.Combine(dir, "one.csv"), "k,v\n1,10\n2,20\n");
        File.WriteAllText(Path.Combine(dir, "a", "b", "two.csv"), "k,v\n3,30\n");
        File.WriteAllText(Path.Combine(dir, "a", "skip.txt.bak"), "k,v\n9,90\n");
        var options = new FileSourceOptions();
        options.Paths.Add(Path.Combine(dir, "**", "*.csv"));
        var (source, output, _) = await Ingest(options);
        Assert.Equal(2, source.Files.Count);
        Assert.Equal([1L, 2, 3], TestData.Query($"SELECT k FROM read_parquet('{TestData.Glob(output)}') ORDER BY k").Select(r => (long)r[0]!));
        Assert.Equal(2, source.CommittedOffsets.Count);
    }

    [Fact]
    public async Task Watch_PicksUpFilesThatArriveLater()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "first.csv"), "k,v\n1,10\n2,20\n");
        var options = new FileSourceOptions { Watch = true, WatchInterval = TimeSpan.FromMilliseconds(50) };
        options.Paths.Add(Path.Combine(dir, "*.csv"));
        var source = FileSource.Create(options);
        var sink = new CountingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { FlushInterval = TimeSpan.FromMilliseconds(50) }).To(sink).Build();
        await pipeline.StartAsync();
        await WaitFor(() => sink.Rows == 2);
        // A writer that renames into place: the temporary name is ignored, the final one is read.
        var temp = Path.Combine(dir, "second.csv.tmp");
        File.WriteAllText(temp, "k,v\n3,30\n4,40\n5,50\n");
        File.Move(temp, Path.Combine(dir, "second.csv"));
        await WaitFor(() => sink.Rows == 5);
        await pipeline.StopAsync();
        Assert.Equal(5, source.RecordsRead);
        Assert.Equal(2, source.Files.Count);
        Assert.Equal(15, sink.KeySum);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached in 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>A real sink that sums a column, for watching progress without files.</summary>
    private sealed class CountingSink : IBatchSink
    {
        private long _rows;
        private long _keySum;
        public string Name => "count";
        public long Rows => Interlocked.Read(ref _rows);
        public long KeySum => Interlocked.Read(ref _keySum);
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public void Write(ColumnBatch batch, long sequence)
        {
            var keys = batch.Values<long>(batch.Schema.IndexOf("k"));
            long sum = 0;
            for (var i = 0; i < batch.Length; i++) if (batch.Selection.IsSelected(i)) sum += keys[i];
            Interlocked.Add(ref _keySum, sum);
            Interlocked.Add(ref _rows, batch.Selection.Count);
        }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
