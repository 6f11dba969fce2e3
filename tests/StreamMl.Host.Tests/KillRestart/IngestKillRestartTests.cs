using Xunit.Abstractions;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary><c>streamml ingest big.csv -o out --checkpoint ck.json</c> with each roll mode, killed with SIGKILL three times
/// after some parts were published and run again to the end: DuckDB finds every source row in the output exactly once,
/// no row that is not in the source, and no leftover temporary file.</summary>
public sealed class IngestKillRestartTests(ITestOutputHelper output)
{
    [Theory]
    // 20,000 rows per part: parts roll inside 4,096-row batches, so the checkpoint lags the last published part.
    [InlineData("rows", 2, 1_000_000)]
    // 1 MiB parts (the smallest --roll-mb) of 4,000-row groups: also cut inside batches.
    [InlineData("bytes", 1, 800_000)]
    // A new part every 0.2 s.
    [InlineData("time", 1, 1_000_000)]
    // A random train/test split (out/train, out/test) rolled by rows: a row's side follows from its position. Twice the
    // rows: with two folders a run publishes parts twice as fast.
    [InlineData("split", 2, 800_000)]
    public async Task Ingest_killed_three_times_then_run_again_delivers_every_row_once(string mode, int partsBeforeKill, int rows)
    {
        using var harness = new KillRestartHarness(output);
        var csv = KillRestartHarness.WriteCsv(Path.Combine(harness.Folder, "big.csv"), rows);
        var folder = Path.Combine(harness.Folder, "out");
        string[] roll = mode switch
        {
            "rows" => ["--roll-rows", "20000"],
            "bytes" => ["--roll-mb", "1", "--row-group", "4000"],
            "split" => ["--roll-rows", "20000", "--split-test", "0.2"],
            _ => ["--roll-seconds", "0.2", "--roll-mb", "0"],
        };
        string[] arguments = ["ingest", csv, "-o", folder, "--checkpoint", Path.Combine(harness.Folder, "ck.json"), "--plain", .. roll];

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = KillRestartHarness.PublishedParts(folder);
            var killed = await harness.StartAndKillAsync(arguments,
                _ => KillRestartHarness.PublishedParts(folder) >= before + partsBeforeKill, TimeSpan.FromMinutes(2));
            if (!killed) break;
        }
        var last = await harness.RunToEndAsync(arguments, TimeSpan.FromMinutes(3));

        var figures = OutputComparison.Compare($"ingest, {mode} rolling", csv, folder, harness.Kills);
        output.WriteLine(figures.ToString());
        Assert.Equal(0, last.ExitCode);
        // A fast run (a quiet machine, a slow poll under a loaded test run) may finish before its third kill: two at least.
        Assert.True(harness.Kills >= 2, $"{harness.Kills} kill(s)");
        Assert.Equal(rows, figures.Sent);
        Assert.Equal(0, figures.Lost);
        Assert.Equal(0, figures.Invented);
        Assert.Equal(0, figures.Duplicated);
        Assert.Equal(rows, figures.Delivered);
        Assert.Equal(0, KillRestartHarness.Temporaries(folder));
        Assert.Contains(last.Lines, l => l.Contains("counts reconcile", StringComparison.Ordinal));
    }
}
