using System.Diagnostics.CodeAnalysis;

namespace StreamMl.Testing;

/// <summary>Waits for a condition instead of sleeping and hoping: polls it until it holds or the timeout passes, then
/// fails the test saying what it waited for and, when given, what it last saw.</summary>
internal static class Eventually
{
    /// <summary>How long a wait lasts unless a test says otherwise: long enough for a loaded CI machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits until <paramref name="condition"/> holds. <paramref name="what"/> names the condition in the
    /// failure ("the sink to hold 300 rows"); <paramref name="seen"/> describes the current state for it.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? seen = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Fail(what, limit, seen);
            await Task.Delay(s_poll);
        }
    }

    /// <summary>Waits until the asynchronous <paramref name="condition"/> holds (a query, a read).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<string>? seen = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Fail(what, limit, seen);
            await Task.Delay(s_poll);
        }
    }

    /// <summary>Waits for <paramref name="task"/> (a TaskCompletionSource's task, a run) to complete.</summary>
    public static async Task<T> CompletesAsync<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        await CompletesAsync((Task)task, what, timeout);
        return await task;
    }

    /// <summary>Waits for <paramref name="task"/> to complete; its exception, if any, is rethrown.</summary>
    public static async Task CompletesAsync(Task task, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        if (await Task.WhenAny(task, Task.Delay(limit)) != task) Fail(what, limit, null);
        await task;
    }

    [DoesNotReturn]
    private static void Fail(string what, TimeSpan timeout, Func<string>? seen) =>
        Xunit.Assert.Fail($"waited {timeout.TotalSeconds:0.#} s for {what}, in vain{(seen is null ? "" : "; last seen: " + seen())}");
}
