using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.Batches;

/// <summary>Renting and returning pooled batches, the pool's per-batch cost on every pipeline thread: the
/// <see cref="BatchPool"/> of today (an interlocked count of free batches) against the earlier pool, kept here as the
/// baseline, that asked <see cref="ConcurrentBag{T}.Count"/> on every return. ConcurrentBag keeps one list per thread
/// that ever added to it and Count locks them all, so the baseline's cost grows with <see cref="ThreadsThatReturned"/>
/// (a pipeline's source, stage and sink threads all return batches). One operation = one Rent and one Return; each
/// invocation rents 8 batches, then returns them.</summary>
[MemoryDiagnoser]
public class BatchPoolBenchmarks
{
    private const int Held = 8;

    /// <summary>Threads that returned a batch to the pool before the measurement (each leaves a list in the bag).</summary>
    [Params(1, 4, 16)]
    public int ThreadsThatReturned { get; set; }

    private readonly ColumnBatch[] _held = new ColumnBatch[Held];
    private Schema _schema = null!;
    private BatchPool _pool = null!;
    private BagCountPool _old = null!;

    [GlobalSetup]
    public void Setup()
    {
        _schema = new Schema(new Field("x", ColumnType.Float32), new Field("k", ColumnType.String));
        _pool = new BatchPool(_schema, 64, maxRetained: 64);
        _old = new BagCountPool(_schema, 64, maxRetained: 64);
        for (var t = 0; t < ThreadsThatReturned; t++)
        {
            var thread = new Thread(() =>
            {
                _pool.Return(_pool.Rent());
                _old.Return(_old.Rent());
            });
            thread.Start();
            thread.Join();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        _old.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Held)]
    public void OldPoolWithBagCount()
    {
        for (var i = 0; i < Held; i++) _held[i] = _old.Rent();
        for (var i = 0; i < Held; i++) _old.Return(_held[i]);
    }

    [Benchmark(OperationsPerInvoke = Held)]
    public void BatchPool()
    {
        for (var i = 0; i < Held; i++) _held[i] = _pool.Rent();
        for (var i = 0; i < Held; i++) _pool.Return(_held[i]);
    }

    /// <summary>The pool as it was before issue 18 (without its leak bookkeeping, which both share): a full
    /// <see cref="ConcurrentBag{T}.Count"/> on every return.</summary>
    private sealed class BagCountPool(Schema schema, int capacity, int maxRetained) : IDisposable
    {
        private readonly ConcurrentBag<ColumnBatch> _free = [];

        public ColumnBatch Rent() => _free.TryTake(out var batch) ? batch : new ColumnBatch(schema, capacity);

        public void Return(ColumnBatch batch)
        {
            batch.Reset();
            if (_free.Count >= maxRetained) batch.Dispose();
            else _free.Add(batch);
        }

        public void Dispose()
        {
            while (_free.TryTake(out var batch)) batch.Dispose();
        }
    }
}
