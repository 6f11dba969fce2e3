using System.Diagnostics;
using System.Runtime.InteropServices;
using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Cli;

/// <summary>The open-loop bench's sleeping clock: fine timer slack only on the thread that asks, never waking early.
/// The kernel's own record of each thread's slack (prctl PR_GET_TIMERSLACK) is the independent reader.</summary>
public sealed partial class PreciseClockTests
{
    private const int PrGetTimerSlack = 30;

    [LibraryImport("libc", SetLastError = false)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    private static long OnNewThread(Func<long> work)
    {
        long result = 0;
        var thread = new Thread(() => result = work());
        thread.Start();
        thread.Join();
        return result;
    }

    [SkippableFact]
    public void Fine_timer_slack_is_one_nanosecond_on_the_calling_thread_only()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "timer slack is a Linux setting");
        var before = OnNewThread(() => prctl(PrGetTimerSlack, 0, 0, 0, 0));
        var fine = OnNewThread(() => PreciseClock.UseFineTimerSlack() ? prctl(PrGetTimerSlack, 0, 0, 0, 0) : -1);
        var otherThread = OnNewThread(() => prctl(PrGetTimerSlack, 0, 0, 0, 0));

        Assert.True(before > 1, $"a new thread's default slack is {before} ns");
        Assert.Equal(1, fine);
        Assert.Equal(before, otherThread);
    }

    [Fact]
    public void Sleeping_never_ends_before_the_time_asked_for()
    {
        var lateness = OnNewThread(() =>
        {
            PreciseClock.UseFineTimerSlack();
            var earliest = long.MaxValue;
            for (var i = 1; i <= 50; i++)
            {
                var target = Stopwatch.GetTimestamp() + i * Stopwatch.Frequency / 20_000; // 50 µs to 2.5 ms ahead
                PreciseClock.SleepUntil(target);
                earliest = Math.Min(earliest, Stopwatch.GetTimestamp() - target);
            }
            return earliest;
        });
        Assert.True(lateness >= 0, $"woke {-lateness} ticks early");
    }
}
