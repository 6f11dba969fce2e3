using System.Globalization;
using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Engine;
using StreamMl.Engine.Time;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Issue 13: with an event-time column a file source sets a watermark as rows flow, so event-time windows
/// close while files are read (and while a watched file grows), not only at the end; <c>SourceFileColumn</c> names each
/// row's file so several series can be keyed in one pipeline.</summary>
public sealed class WatermarkTests : IDisposable
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-watermark-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static long Micros(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    /// <summary>Rows one minute apart from <paramref name="firstMinute"/> on; value = the minute.</summary>
    private static string Rows(int firstMinute, int count) => string.Concat(Enumerable.Range(firstMinute, count).Select(m =>
        string.Create(CultureInfo.InvariantCulture, $"{s_start.AddMinutes(m):yyyy-MM-ddTHH:mm:ssZ},{m}\n")));

    private FileSource Source(bool watch = false, TimeSpan delay = default)
    {
        var options = new FileSourceOptions
        {
            Schema = SchemaText.Parse("ts:timestamp,value:float64"), EventTimeColumn = "ts", SourceFileColumn = "source_file",
            Watch = watch, WatchInterval = TimeSpan.FromMilliseconds(20), WatermarkDelay = delay,
        };
        options.Paths.Add(Path.Combine(_dir, "*.csv"));
        return FileSource.Create(options);
    }

    [Fact]
    public async Task The_watermark_is_the_newest_event_time_read_and_closes_hourly_windows_before_the_end()
    {
        // Two series one after the other in time: a.csv hours 0-4, b.csv hours 5-9 (300 rows each).
        File.WriteAllText(Path.Combine(_dir, "a.csv"), "ts,value\n" + Rows(0, 300));
        File.WriteAllText(Path.Combine(_dir, "b.csv"), "ts,value\n" + Rows(300, 300));
        await using var source = Source(delay: TimeSpan.FromMinutes(2));
        await source.OpenAsync(new SourceContext("test", new CollectingDeadLetterSink()), CancellationToken.None);
        var output = new CollectingWindowOutput();
        var windows = new KeyedWindowOperator("source_file", "value", WindowSpec.Tumbling(TimeSpan.FromHours(1)), output);
        windows.Bind(source.Schema);
        using var batch = new ColumnBatch(source.Schema, capacity: 50);
        var read = 0;
        var more = true;
        while (more)
        {
            batch.Reset();
            more = await source.FillAsync(batch, CancellationToken.None);
            if (batch.Length == 0) continue;
            read += batch.Length;
            // Reference: rows are read in file order, minute k is row k, so the newest time is that of the last row read.
            Assert.Equal(Micros(s_start.AddMinutes(read - 1)) - Micros(s_start.AddMinutes(2)) + Micros(s_start), batch.Watermark);
            var files = batch[batch.Schema.IndexOf("source_file")];
            for (var row = 0; row < batch.Length; row++)
            {
                var minute = read - batch.Length + row;
                Assert.Equal(Path.Combine(_dir, minute < 300 ? "a.csv" : "b.csv"), files.Dictionary![files.Values<int>()[row]]);
            }
            windows.Process(batch, StageContext.Standalone("windows"));
        }
        Assert.Equal(600, read);
        // Without Complete: every hour whose end is at or below the final watermark (09:57) has closed; only hour 9 is open.
        var closed = output.Windows.OrderBy(w => w.Start).ToList();
        Assert.Equal(9, closed.Count);
        for (var h = 0; h < 9; h++)
        {
            Assert.Equal(Micros(s_start.AddHours(h)), closed[h].Start);
            Assert.Equal(60, closed[h].Count);
            Assert.Equal(Enumerable.Range(h * 60, 60).Sum(), closed[h].Sum);
            Assert.Equal(Path.Combine(_dir, h < 5 ? "a.csv" : "b.csv"), closed[h].Key);
        }
        Assert.Empty(output.LateRows);
    }

    [Fact]
    public async Task Windows_close_while_a_watched_file_grows()
    {
        var path = Path.Combine(_dir, "live.csv");
        File.WriteAllText(path, "ts,value\n" + Rows(0, 90));
        await using var source = Source(watch: true);
        await source.OpenAsync(new SourceContext("test", new CollectingDeadLetterSink()), CancellationToken.None);
        var output = new CollectingWindowOutput();
        var windows = new KeyedWindowOperator("source_file", "value", WindowSpec.Tumbling(TimeSpan.FromHours(1)), output);
        windows.Bind(source.Schema);
        using var batch = new ColumnBatch(source.Schema, capacity: 64);

        async Task ReadUntil(int rows, int total)
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            while (total < rows && DateTime.UtcNow < until)
            {
                batch.Reset();
                Assert.True(await source.FillAsync(batch, CancellationToken.None)); // watching: never ends
                total += batch.Length;
                windows.Process(batch, StageContext.Standalone("windows"));
            }
            Assert.Equal(rows, total);
        }

        await ReadUntil(90, 0);
        // 01:29 read: hour 0 has closed although the source has not ended (and never will).
        Assert.Equal([Micros(s_start)], output.Windows.Select(w => w.Start));
        using (var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            stream.Write(Encoding.UTF8.GetBytes(Rows(90, 100)));
        await ReadUntil(190, 90);
        // 03:09 read: hours 1 and 2 have closed too, each with its 60 rows.
        Assert.Equal([Micros(s_start), Micros(s_start.AddHours(1)), Micros(s_start.AddHours(2))], output.Windows.Select(w => w.Start).Order());
        Assert.All(output.Windows, w => Assert.Equal(60, w.Count));
    }

    [Fact]
    public void A_source_file_column_that_the_files_already_have_is_refused_with_its_name()
    {
        File.WriteAllText(Path.Combine(_dir, "c.csv"), "ts,source_file\n2026-01-01T00:00:00Z,x\n");
        var options = new FileSourceOptions { SourceFileColumn = "source_file" };
        options.Paths.Add(Path.Combine(_dir, "c.csv"));
        var error = Assert.Throws<BadInputException>(() => FileSource.Create(options));
        Assert.Contains("source-file column 'source_file' is also a column of the files", error.Message);
    }
}
