using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary>A watched image folder (<c>{ kind: images, watch: true, checkpoint: ... }</c>) into Parquet while a writer
/// keeps adding images: <c>streamml run</c> is killed with SIGKILL three times and started again; DuckDB finds every
/// image exactly once in the output, with its class folder as label.</summary>
public sealed class ImageWatchKillRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_watched_image_folder_killed_three_times_delivers_every_image_once()
    {
        const int Images = 240;
        const int ImagesPerRun = 60;
        using var harness = new KillRestartHarness(output);
        var watched = Path.Combine(harness.Folder, "in");
        var folder = Path.Combine(harness.Folder, "out");
        var spec = Path.Combine(harness.Folder, "images.yaml");
        File.WriteAllText(spec, """
            name: watch-images
            options: { flush_interval: 100ms }
            source: { kind: images, path: in, watch: true, interval: 100ms, checkpoint: state/images.json }
            sinks:
              - { kind: parquet, path: out, roll_seconds: 1, roll_rows: 20 }
            """);
        string[] classes = ["bus", "owl", "sky"];
        var expected = new StringBuilder("path,label\n");
        var bytes = File.ReadAllBytes(Directory.GetFiles(SharedData.File("caltech20", "owl")).Order(StringComparer.Ordinal).First());
        var written = 0;
        // The writer copies images in with a hidden name and renames them, 8 every 200 ms, across the kills. Run k may see
        // at most 60 k images before its kill, so each run has new images to read and publish whatever the machine's
        // load (a writer on its own clock finished all 240 before a slow first run started, and run 2 had nothing to do).
        var allowed = ImagesPerRun;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Images; i++)
            {
                while (i >= Volatile.Read(ref allowed)) await Task.Delay(10);
                var label = classes[i % classes.Length];
                var path = Path.Combine(watched, label, string.Create(CultureInfo.InvariantCulture, $"img{i:D4}.jpg"));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var temp = Path.Combine(watched, label, $".{Path.GetFileName(path)}.tmp");
                await File.WriteAllBytesAsync(temp, bytes);
                File.Move(temp, path);
                lock (expected) expected.Append(CultureInfo.InvariantCulture, $"{path},{label}\n");
                Interlocked.Increment(ref written);
                if (i % 8 == 7) await Task.Delay(200);
            }
        });
        string[] arguments = ["run", spec, "--plain"];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            Assert.True(await harness.StartAndKillAsync(arguments, _ => KillRestartHarness.PublishedParts(folder) >= before + 2, TimeSpan.FromMinutes(2)));
            Volatile.Write(ref allowed, attempt == 2 ? Images : ImagesPerRun * (attempt + 2));
        }
        Assert.True(Volatile.Read(ref written) < Images, "the writer finished before the last kill: the test did not kill mid-stream");
        await writer;
        var csv = Path.Combine(harness.Folder, "expected.csv");
        await File.WriteAllTextAsync(csv, expected.ToString());
        var last = harness.Start(arguments);
        await KillRestartHarness.WaitUntilAsync(() => DistinctPaths(folder) >= Images, TimeSpan.FromMinutes(2), "every image in the output", last);
        last.Terminate();
        Assert.True(await last.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var (sent, delivered, lost, invented, duplicated) = Compare(csv, folder);
        output.WriteLine($"watched images -> parquet: sent {sent}, delivered {delivered}, lost {lost}, invented {invented}, duplicated {duplicated}, kills {harness.Kills}");
        Assert.Equal((Images, Images, 0L, 0L, 0L), (sent, delivered, lost, invented, duplicated));
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
    }

    private static string Parts(string folder) => Path.Combine(folder, "**", "*.parquet").Replace("'", "''", StringComparison.Ordinal);

    private static long DistinctPaths(string folder) =>
        KillRestartHarness.PublishedParts(folder) == 0 ? 0 : Query($"SELECT count(DISTINCT path) FROM read_parquet('{Parts(folder)}')")[0];

    private static (long, long, long, long, long) Compare(string csv, string folder)
    {
        var source = $"read_csv('{csv.Replace("'", "''", StringComparison.Ordinal)}', header = true, columns = {{'path': 'VARCHAR', 'label': 'VARCHAR'}})";
        var output = $"(SELECT CAST(path AS VARCHAR) AS path, CAST(label AS VARCHAR) AS label FROM read_parquet('{Parts(folder)}'))";
        var row = Query($"""
            SELECT (SELECT count(*) FROM {source}),
                   (SELECT count(*) FROM {output}),
                   (SELECT count(*) FROM (SELECT * FROM {source} EXCEPT SELECT * FROM {output})),
                   (SELECT count(*) FROM (SELECT * FROM {output} EXCEPT SELECT * FROM {source})),
                   (SELECT count(*) - count(DISTINCT path) FROM {output})
            """);
        return (row[0], row[1], row[2], row[3], row[4]);
    }

    private static long[] Query(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return [.. Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture))];
    }
}
