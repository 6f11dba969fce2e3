using System.Diagnostics;
using StreamMl.Benchmarks.Harness;

namespace StreamMl.Benchmarks.Tests;

/// <summary>The per-thread CPU reader S7 splits its figures with, against .NET's own reading of the same counters
/// (<see cref="ProcessThread.TotalProcessorTime"/>, <see cref="Process.TotalProcessorTime"/>).</summary>
public sealed class ThreadCpuTests
{
    [SkippableFact]
    public void A_busy_named_thread_shows_its_cpu_time_under_its_name_as_dotnet_reads_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "/proc is Linux's");
        var processId = Environment.ProcessId;
        using var stop = new ManualResetEventSlim();
        using var spun = new ManualResetEventSlim();
        var threadId = 0;
        var thread = new Thread(() =>
        {
            threadId = Linux.CurrentThreadId();
            // Burn CPU until .NET's reading of this thread reaches 150 ms, then park (alive, not running).
            var value = 1.0;
            while (ThreadCpuSeconds(threadId) < 0.15)
                for (var i = 0; i < 100_000; i++) value = Math.Sqrt(value + i);
            GC.KeepAlive(value);
            spun.Set();
            stop.Wait();
        }) { IsBackground = true, Name = "cpu-probe" };
        thread.Start();
        Assert.True(spun.Wait(TimeSpan.FromMinutes(2)), "the probe thread did not get 150 ms of CPU within 2 minutes");
        try
        {
            var threads = ThreadCpu.Threads(processId);
            var (name, seconds) = threads[threadId];
            Assert.Equal("cpu-probe", name);
            Assert.InRange(seconds, ThreadCpuSeconds(threadId) - 0.02, ThreadCpuSeconds(threadId) + 0.02);
            var groups = ThreadCpu.Spent([], threads, n => n == "cpu-probe" ? "probe" : "rest");
            Assert.Equal(seconds, groups["probe"], 6);
            using var process = Process.GetCurrentProcess();
            var before = process.TotalProcessorTime.TotalSeconds;
            var read = ThreadCpu.Process(processId)!.Value;
            process.Refresh();
            Assert.InRange(read, before - 0.02, process.TotalProcessorTime.TotalSeconds + 0.02);
        }
        finally
        {
            stop.Set();
        }
    }

    private static double ThreadCpuSeconds(int threadId)
    {
        using var process = Process.GetCurrentProcess();
        foreach (ProcessThread thread in process.Threads)
            if (thread.Id == threadId) return thread.TotalProcessorTime.TotalSeconds;
        return 0;
    }

    private static class Linux
    {
        /// <summary>The kernel's id of the calling thread: /proc/thread-self links to "pid/task/tid".</summary>
        public static int CurrentThreadId() => int.Parse(Path.GetFileName(new FileInfo("/proc/thread-self").LinkTarget!), System.Globalization.CultureInfo.InvariantCulture);
    }
}
