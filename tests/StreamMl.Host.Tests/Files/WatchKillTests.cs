using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamMl.Host.Tests.Kafka;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Files;

/// <summary>Issue 12 item 4 with real <c>kill -9</c>: a <c>streamml ingest --watch --checkpoint</c> process follows a
/// CSV file that a writer keeps appending to (sometimes half a line at a time), is killed several times at arbitrary
/// points and restarted; at the end the output, read with DuckDB, holds every row written exactly once.</summary>
public sealed class WatchKillTests(ITestOutputHelper output)
{
    private static string Temp()
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamml-watch-kill", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static long Committed(string checkpoint)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(checkpoint));
            return doc.RootElement.GetProperty("files").EnumerateArray().Sum(f => f.GetProperty("committed").GetInt64());
        }
        catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException)
        {
            return 0; // not written yet
        }
    }

    private static (long Rows, long Distinct, long Min, long Max) Output(string dir)
    {
        if (Directory.GetFiles(dir, "*.parquet", SearchOption.AllDirectories).Length == 0) return (0, 0, 0, 0);
        var glob = Path.Combine(dir, "**", "*.parquet").Replace("'", "''");
        var row = DuckDb.Query($"SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM read_parquet('{glob}')")[0];
        return (Convert.ToInt64(row[0], CultureInfo.InvariantCulture), Convert.ToInt64(row[1], CultureInfo.InvariantCulture),
            Convert.ToInt64(row[2], CultureInfo.InvariantCulture), Convert.ToInt64(row[3], CultureInfo.InvariantCulture));
    }

    private static async Task WaitFor(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"not reached in {timeout.TotalSeconds:F0} s: {what()}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task KilledAndRestartedWhileTheFileGrows_LosesAndDuplicatesNothing()
    {
        var input = Temp();
        var outputDir = Temp();
        var checkpoint = Path.Combine(Temp(), "ingest.checkpoint.json");
        var path = Path.Combine(input, "events.csv");
        File.WriteAllText(path, "id,v\n");
        long written = 0;
        using var stopWriting = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var random = new Random(7);
            await using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            while (!stopWriting.IsCancellationRequested)
            {
                var text = new StringBuilder();
                for (var i = 0; i < 200; i++)
                {
                    var id = Interlocked.Increment(ref written);
                    text.Append(id.ToString(CultureInfo.InvariantCulture)).Append(",value-").Append(id % 97).Append('\n');
                }
                var bytes = Encoding.UTF8.GetBytes(text.ToString());
                // Half a line now, the rest a moment later: the reader must wait for the line break.
                var cut = bytes.Length - 1 - random.Next(8);
                stream.Write(bytes, 0, cut);
                stream.Flush();
                await Task.Delay(5);
                stream.Write(bytes, cut, bytes.Length - cut);
                stream.Flush();
                await Task.Delay(15);
            }
        });

        string[] arguments = ["ingest", Path.Combine(input, "*.csv"), "-o", outputDir, "--watch", "--checkpoint", checkpoint, "--plain",
            "--schema", "id:int64!,v:string", "--publish-seconds", "1"];
        const int Kills = 4;
        for (var kill = 0; kill < Kills; kill++)
        {
            using var process = StreamMlProcess.Start($"ingest-{kill}", arguments);
            var before = Committed(checkpoint);
            // Kill once this run has committed something and read well past it (rows in flight, files half written).
            await WaitFor(() => Committed(checkpoint) > before, TimeSpan.FromSeconds(60), () => $"a commit in run {kill}: " + string.Join("\n", process.Lines.TakeLast(5)));
            var target = Interlocked.Read(ref written) + 600 + (kill * 300);
            await WaitFor(() => Interlocked.Read(ref written) >= target, TimeSpan.FromSeconds(60), () => "the writer");
            process.Kill();
            Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            output.WriteLine($"kill {kill + 1}: rows written so far {Interlocked.Read(ref written):N0}, committed lines {Committed(checkpoint):N0}, published {Output(outputDir).Rows:N0}");
        }
        await stopWriting.CancelAsync();
        await writer;
        var total = Interlocked.Read(ref written);

        using (var last = StreamMlProcess.Start("ingest-final", arguments))
        {
            await WaitFor(() => Output(outputDir).Distinct == total, TimeSpan.FromSeconds(90),
                () => $"all {total:N0} rows published, have {Output(outputDir)}: " + string.Join("\n", last.Lines.TakeLast(5)));
            last.Terminate();
            Assert.True(await last.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        var (rows, distinct, min, max) = Output(outputDir);
        output.WriteLine($"rows sent {total:N0}, delivered {rows:N0}, distinct {distinct:N0}, lost {total - distinct:N0}, duplicated {rows - distinct:N0}, kills {Kills}");
        Assert.Equal(total, distinct);
        Assert.Equal(1, min);
        Assert.Equal(total, max);
        Assert.Equal(total, rows); // no duplicates
    }
}
