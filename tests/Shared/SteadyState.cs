namespace StreamMl.Testing;

/// <summary>Measures what a hot path allocates once it is warm. The runtime itself can allocate on the measuring
/// thread while it promotes a method to its optimised tier (a few kilobytes, now and then, on a loaded machine), so
/// the body runs for several rounds and the round that allocated least counts: code that allocates in steady state
/// allocates in every round and still fails the test.</summary>
internal static class SteadyState
{
    /// <summary>The fewest bytes the current thread allocated over <paramref name="iterations"/> calls of
    /// <paramref name="body"/>, in the best of <paramref name="rounds"/> rounds.</summary>
    public static long AllocatedBytes(Action body, int iterations = 50, int rounds = 5)
    {
        var fewest = long.MaxValue;
        for (var round = 0; round < rounds && fewest > 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < iterations; i++) body();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}

/// <summary>The same measure for code on a thread the test does not own (a pipeline stage): that code calls
/// <see cref="Tick"/> once per batch; after <paramref name="warmup"/> calls the probe measures windows of
/// <paramref name="window"/> calls and keeps the smallest count of bytes allocated in one.</summary>
internal sealed class AllocationProbe(int warmup, int window)
{
    private int _calls;
    private long _mark = -1;

    /// <summary>Fewest bytes one window allocated; -1 until a window is complete.</summary>
    public long Fewest { get; private set; } = -1;

    /// <summary>Windows measured so far.</summary>
    public int Windows { get; private set; }

    /// <summary>Counts one call on the calling thread.</summary>
    public void Tick()
    {
        var call = ++_calls;
        if (call < warmup || (call - warmup) % window != 0) return;
        var now = GC.GetAllocatedBytesForCurrentThread();
        if (_mark >= 0)
        {
            var bytes = now - _mark;
            Fewest = Fewest < 0 ? bytes : Math.Min(Fewest, bytes);
            Windows++;
        }
        _mark = now;
    }
}
