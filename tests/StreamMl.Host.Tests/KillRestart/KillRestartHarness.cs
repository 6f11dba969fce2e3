using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamMl.Host.Tests.Kafka;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary>Runs a real <c>streamml</c> command, kills it with SIGKILL once a condition holds (typically: some Parquet
/// parts were published), starts the same command again, and keeps the processes' output for the test log. The
/// output is then compared with the source by <see cref="OutputComparison"/>.</summary>
internal sealed class KillRestartHarness(ITestOutputHelper output) : IDisposable
{
    private readonly List<StreamMlProcess> _processes = [];

    /// <summary>A fresh folder for the input, the output and the checkpoint.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("streamml-kill-").FullName;

    /// <summary>SIGKILLs sent so far.</summary>
    public int Kills { get; private set; }

    /// <summary>Every process started, in order.</summary>
    public IReadOnlyList<StreamMlProcess> Processes => _processes;

    public StreamMlProcess Start(params string[] arguments)
    {
        var process = StreamMlProcess.Start($"run {_processes.Count + 1}", arguments);
        _processes.Add(process);
        return process;
    }

    /// <summary>Starts <paramref name="arguments"/> and SIGKILLs the process as soon as <paramref name="killWhen"/> holds.
    /// Returns false (and no kill) when the process ended on its own first.</summary>
    public async Task<bool> StartAndKillAsync(string[] arguments, Func<StreamMlProcess, bool> killWhen, TimeSpan timeout)
    {
        var process = Start(arguments);
        // Polled on a thread of its own: a fast run publishes a part every few milliseconds, and a poll that waits for a
        // busy thread pool (the other tests of a full run) can miss the whole run (stop 26: "0 kill(s)").
        await Task.Factory.StartNew(() =>
        {
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && !killWhen(process))
            {
                if (clock.Elapsed > timeout)
                    Assert.Fail($"timed out after {timeout.TotalSeconds:F0} s waiting for the kill condition of {process.Name}\n" + string.Join("\n", process.Lines.TakeLast(30)));
                Thread.Sleep(2);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (process.HasExited) return false;
        process.Kill();
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"{process.Name} did not die after SIGKILL");
        Kills++;
        output.WriteLine($"killed {process.Name} (pid {process.Id}) with {PublishedParts(Folder)} part(s) and {Temporaries(Folder)} temporary file(s) on disk");
        return true;
    }

    /// <summary>Starts <paramref name="arguments"/> and waits for the process to end on its own.</summary>
    public async Task<StreamMlProcess> RunToEndAsync(string[] arguments, TimeSpan timeout)
    {
        var process = Start(arguments);
        Assert.True(await process.WaitForExitAsync(timeout), $"{process.Name} did not finish within {timeout}");
        return process;
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails with <paramref name="what"/> after
    /// <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, StreamMlProcess? process = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
                Assert.Fail($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}" + (process is null ? "" : "\n" + string.Join("\n", process.Lines.TakeLast(30))));
            await Task.Delay(10);
        }
    }

    /// <summary>Published Parquet parts under <paramref name="folder"/> (hidden temporary files excluded).</summary>
    public static int PublishedParts(string folder) => !Directory.Exists(folder) ? 0
        : Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith('.'));

    /// <summary>Hidden <c>.part-*.parquet.tmp</c> files under <paramref name="folder"/>.</summary>
    public static int Temporaries(string folder) => !Directory.Exists(folder) ? 0
        : Directory.EnumerateFiles(folder, ".*.parquet.tmp", SearchOption.AllDirectories).Count();

    /// <summary>A CSV of <paramref name="rows"/> rows <c>id,amount,label</c> with <c>id</c> 0, 1, 2...: values follow from
    /// the id, so any row can be checked against the source.</summary>
    public static string WriteCsv(string path, int rows)
    {
        var text = new StringBuilder(rows * 24);
        text.Append("id,amount,label\n");
        for (var id = 0; id < rows; id++) text.Append(CultureInfo.InvariantCulture, $"{id},{Amount(id).ToString("R", CultureInfo.InvariantCulture)},{Label(id)}\n");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    public static double Amount(long id) => id * 0.25 - 1000;

    public static string Label(long id) => "l" + (id % 97).ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- {process.Name} (pid {process.Id}{(process.HasExited ? $", exit {process.ExitCode}" : "")}) ---");
            foreach (var line in process.Lines.Where(l => !l.Contains("[ingest] files", StringComparison.Ordinal) && !l.Contains(": running ", StringComparison.Ordinal)).TakeLast(40))
                output.WriteLine(line);
            process.Dispose();
        }
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { /* a killed process's files may linger a moment; the temp folder is cleaned by the system */ }
    }
}
