using System.Collections.Concurrent;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine;

/// <summary>Recycles <see cref="ColumnBatch"/>es of one schema and capacity. Every rented batch must come back through
/// <see cref="Return"/>; <see cref="AssertNoLeaks"/> fails when one did not, and returning a batch twice throws.</summary>
public sealed class BatchPool : IDisposable
{
    private readonly ConcurrentBag<ColumnBatch> _free = [];
    private readonly int _maxRetained;
    // Batches in _free, kept beside the bag: ConcurrentBag.Count freezes the bag (takes the lock of every thread's list
    // that ever touched it) and was paid on every Return; BatchPoolBenchmarks measures the difference.
    private int _freeCount;
    private int _outstanding;
    private int _created;
    private bool _disposed;

    /// <summary>Creates a pool for batches of <paramref name="schema"/>.</summary>
    /// <param name="schema">Schema of every batch.</param>
    /// <param name="capacity">Rows per batch. Default <see cref="ColumnBatch.DefaultCapacity"/>.</param>
    /// <param name="maxRetained">Free batches kept for reuse; more are freed on return. Default 64.</param>
    public BatchPool(Schema schema, int capacity = ColumnBatch.DefaultCapacity, int maxRetained = 64)
    {
        Schema = schema;
        Capacity = capacity;
        _maxRetained = maxRetained;
    }

    /// <summary>Schema of the pool's batches.</summary>
    public Schema Schema { get; }

    /// <summary>Row capacity of the pool's batches.</summary>
    public int Capacity { get; }

    /// <summary>Batches rented and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Batches allocated over the pool's life (a steady state stops growing it).</summary>
    public int Created => Volatile.Read(ref _created);

    /// <summary>An empty batch, reused when one is free.</summary>
    public ColumnBatch Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryTake(out var batch)) Interlocked.Decrement(ref _freeCount);
        else
        {
            batch = new ColumnBatch(Schema, Capacity) { Pool = this };
            Interlocked.Increment(ref _created);
        }
        batch.Rented = true;
        Interlocked.Increment(ref _outstanding);
        return batch;
    }

    /// <summary>Gives a batch back. It is reset; the caller must not touch it again.</summary>
    public void Return(ColumnBatch batch)
    {
        if (!ReferenceEquals(batch.Pool, this)) ThrowHelper.BatchLeak("the batch was not rented from this pool");
        if (!batch.Rented) ThrowHelper.BatchLeak("the batch was returned twice");
        batch.Rented = false;
        Interlocked.Decrement(ref _outstanding);
        batch.Reset();
        // Reserve a free slot before adding (compare-and-swap, so the count never passes maxRetained even for a moment):
        // the bag never holds more than maxRetained batches, even under concurrent returns.
        var free = Volatile.Read(ref _freeCount);
        while (!_disposed && free < _maxRetained)
        {
            var seen = Interlocked.CompareExchange(ref _freeCount, free + 1, free);
            if (seen == free)
            {
                _free.Add(batch);
                return;
            }
            free = seen;
        }
        batch.Dispose();
    }

    /// <summary>Free batches kept for reuse (at most the pool's maxRetained).</summary>
    internal int Retained => Volatile.Read(ref _freeCount);

    /// <summary>Throws a <see cref="BatchLeakException"/> when batches are still rented.</summary>
    public void AssertNoLeaks()
    {
        var outstanding = Outstanding;
        if (outstanding != 0)
            ThrowHelper.BatchLeak($"{outstanding} batch(es) of ({Schema}) were rented and never returned");
    }

    /// <summary>Frees the free batches; batches still rented are freed when returned.</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_free.TryTake(out var batch))
        {
            Interlocked.Decrement(ref _freeCount);
            batch.Dispose();
        }
    }
}
