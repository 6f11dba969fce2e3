using System.Diagnostics;
using StreamMl.Benchmarks.Harness;

namespace StreamMl.Benchmarks.Tests;

/// <summary>The sampler S6 reports stage CPU with: a thread that burns CPU and exits before the sampler stops still
/// counts under its name, close to what .NET read for it while it ran.</summary>
public sealed class ThreadCpuSamplerTests
{
    [SkippableFact]
    public void A_thread_that_exited_before_the_stop_keeps_its_cpu_time()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "/proc is Linux's");
        using var sampler = new ThreadCpuSampler(TimeSpan.FromMilliseconds(5));
        var measured = 0.0;
        var thread = new Thread(() =>
        {
            // Burn about 150 ms of this thread's CPU as .NET reads it, then exit.
            var threadId = int.Parse(Path.GetFileName(new FileInfo("/proc/thread-self").LinkTarget!), System.Globalization.CultureInfo.InvariantCulture);
            var value = 1.0;
            while ((measured = ThreadCpuSeconds(threadId)) < 0.15)
                for (var i = 0; i < 100_000; i++) value = Math.Sqrt(value + i);
            GC.KeepAlive(value);
        }) { IsBackground = true, Name = "sampled-probe" };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromMinutes(2)), "the probe thread did not get 150 ms of CPU within 2 minutes");
        // The thread is gone from /proc now; only the sampler's last reading of it is left.
        var (groups, process) = sampler.Stop(name => name == "sampled-probe" ? "probe" : "other");

        // One sampling interval (5 ms, which a loaded machine can stretch) plus the kernel's 10 ms tick may be lost.
        Assert.InRange(groups.GetValueOrDefault("probe"), measured - 0.1, measured + 0.02);
        Assert.True(process >= groups["probe"] - 0.02, $"the process's CPU ({process:F3} s) is below its thread's ({groups["probe"]:F3} s)");
    }

    private static double ThreadCpuSeconds(int threadId)
    {
        using var process = Process.GetCurrentProcess();
        foreach (ProcessThread thread in process.Threads)
            if (thread.Id == threadId) return thread.TotalProcessorTime.TotalSeconds;
        return 0;
    }
}
