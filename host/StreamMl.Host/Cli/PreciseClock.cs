using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StreamMl.Host.Cli;

/// <summary>Sleeps until a <see cref="Stopwatch"/> timestamp with tens of microseconds of precision without spinning
/// for long: on Linux through libc's <c>usleep</c> (the kernel's timer slack, 50 µs by default, is the error), then a
/// short yield loop for the rest. <see cref="Thread.Sleep(int)"/> rounds up to whole milliseconds, too coarse for a
/// 1 ms schedule, and spinning instead takes a core that the server under test needs on a small machine.</summary>
internal static partial class PreciseClock
{
    // Wake this early and yield for the rest: covers the timer slack of the sleep.
    private static readonly long s_margin = Stopwatch.Frequency / 10_000; // 100 µs
    private static bool s_usleep = OperatingSystem.IsLinux();

    public static void SleepUntil(long timestamp)
    {
        while (true)
        {
            var remaining = timestamp - Stopwatch.GetTimestamp();
            if (remaining <= 0) return;
            if (remaining > s_margin)
            {
                var micros = (remaining - s_margin) * 1_000_000 / Stopwatch.Frequency;
                if (s_usleep && TryMicroSleep(micros)) continue;
                if (micros >= 1000) Thread.Sleep((int)(micros / 1000));
                else Thread.Yield();
            }
            else Thread.Yield();
        }
    }

    private static bool TryMicroSleep(long micros)
    {
        try
        {
            _ = usleep((uint)Math.Min(micros, 1_000_000));
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_usleep = false; // a libc we cannot bind to: millisecond sleeps from now on
            return false;
        }
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int usleep(uint microseconds);
}
