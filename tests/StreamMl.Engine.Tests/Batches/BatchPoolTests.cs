using StreamMl.Engine;

namespace StreamMl.Engine.Tests.Batches;

/// <summary>The pool's return path runs once per batch on every pipeline thread: it must stay allocation-free, keep
/// its bound on retained batches under concurrent returns, and still catch leaks and double returns.</summary>
public sealed class BatchPoolTests
{
    private static readonly Schema s_schema = new(new Field("x", ColumnType.Float32), new Field("k", ColumnType.String));

    [Fact]
    public void Rent_and_return_allocate_nothing_in_steady_state()
    {
        using var pool = new BatchPool(s_schema, 64, maxRetained: 8);
        var held = new ColumnBatch[8];
        void Round()
        {
            for (var i = 0; i < held.Length; i++) held[i] = pool.Rent();
            for (var i = 0; i < held.Length; i++) pool.Return(held[i]);
        }
        Round();
        Assert.Equal(0, SteadyState.AllocatedBytes(Round, 1000));
        Assert.Equal(8, pool.Created);
        pool.AssertNoLeaks();
    }

    [Fact]
    public void Concurrent_returns_never_retain_more_than_the_bound_and_every_batch_comes_back()
    {
        const int threads = 8, each = 32, maxRetained = 5;
        using var pool = new BatchPool(s_schema, 16, maxRetained);
        using var start = new Barrier(threads);
        var failures = 0;
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var mine = new ColumnBatch[each];
            start.SignalAndWait();
            for (var round = 0; round < 300; round++)
            {
                for (var i = 0; i < each; i++) mine[i] = pool.Rent();
                for (var i = 0; i < each; i++)
                {
                    pool.Return(mine[i]);
                    if (pool.Retained > maxRetained) Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) Assert.True(w.Join(TimeSpan.FromSeconds(60)), "a worker did not finish");
        Assert.Equal(0, failures);
        Assert.InRange(pool.Retained, 0, maxRetained);
        pool.AssertNoLeaks();

        // Leak and double-return detection still hold after the concurrent run.
        var a = pool.Rent();
        Assert.Throws<BatchLeakException>(pool.AssertNoLeaks);
        pool.Return(a);
        Assert.Throws<BatchLeakException>(() => pool.Return(a));
        pool.AssertNoLeaks();
    }
}
