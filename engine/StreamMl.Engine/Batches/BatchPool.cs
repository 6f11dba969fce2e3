using System.Collections.Concurrent;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine;

/// <summary>Recycles <see cref="ColumnBatch"/>es of one schema and capacity. Every rented batch must come back through
/// <see cref="Return"/>; <see cref="AssertNoLeaks"/> fails when one did not, and returning a batch twice throws.</summary>
public sealed class BatchPool : IDisposable
{
    private readonly ConcurrentBag<ColumnBatch> _free = [];
    private readonly int _maxRetained;
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
        if (!_free.TryTake(out var batch))
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
        if (_disposed || _free.Count >= _maxRetained) batch.Dispose();
        else _free.Add(batch);
    }

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
        while (_free.TryTake(out var batch)) batch.Dispose();
    }
}
