using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StreamMl.Host.Cli;

/// <summary>Sleeps until a <see cref="Stopwatch"/> timestamp with a few microseconds of precision without spinning
/// for long: on Linux through libc's <c>usleep</c>, on a thread whose kernel timer slack (50 µs by default: the kernel
/// may wake a sleeper that much late to batch wake-ups) was set to 1 ns by <see cref="UseFineTimerSlack"/>, then a
/// short yield loop for the last <see cref="Margin"/>. <see cref="Thread.Sleep(int)"/> rounds up to whole milliseconds,
/// too coarse for a 1 ms schedule, and spinning instead takes a core that the server under test needs on a small
/// machine: with the default slack the loop had to yield for the last 100 µs of every 1 ms, a tenth of a core.</summary>
internal static partial class PreciseClock
{
    private const int PrSetTimerSlack = 29;

    private static bool s_usleep = OperatingSystem.IsLinux();

    /// <summary>How early the sleep ends; the rest is a yield loop. 100 µs with the kernel's default slack, 20 µs
    /// with a fine one.</summary>
    [ThreadStatic] private static long t_margin;

    private static long Margin => t_margin > 0 ? t_margin : Stopwatch.Frequency / 10_000;

    /// <summary>Asks the kernel to wake the calling thread's sleeps on time (timer slack 1 ns instead of 50 µs) and
    /// shortens this thread's final yield loop to 20 µs. False (nothing changed) off Linux or when the call fails.</summary>
    public static bool UseFineTimerSlack()
    {
        if (!s_usleep) return false;
        try
        {
            if (prctl(PrSetTimerSlack, 1, 0, 0, 0) != 0) return false;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        t_margin = Stopwatch.Frequency / 50_000;
        return true;
    }

    public static void SleepUntil(long timestamp)
    {
        var margin = Margin;
        while (true)
        {
            var remaining = timestamp - Stopwatch.GetTimestamp();
            if (remaining <= 0) return;
            if (remaining > margin)
            {
                var micros = (remaining - margin) * 1_000_000 / Stopwatch.Frequency;
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

    [LibraryImport("libc", SetLastError = false)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
