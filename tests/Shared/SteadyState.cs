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
