using System.Runtime.CompilerServices;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine.Ring;

/// <summary>A pre-allocated power-of-two ring of reusable entries (LMAX Disruptor design). Producers claim a sequence,
/// write into that slot's entry in place and publish it; consumers read published entries without copying. No entry
/// is ever allocated after construction.</summary>
/// <typeparam name="T">Entry type, created once per slot by the factory.</typeparam>
public sealed class RingBuffer<T> where T : class
{
    // Padding slots at both ends keep the live entries off cache lines that other hot data may share.
    private const int Pad = 16;

    private readonly T[] _entries;
    private readonly long _indexMask;
    private readonly ISequencer _sequencer;

    /// <summary>Creates a ring of <paramref name="size"/> entries made by <paramref name="factory"/>.</summary>
    public RingBuffer(Func<T> factory, int size, ProducerType producerType = ProducerType.Single, IWaitStrategy? waitStrategy = null)
    {
        waitStrategy ??= new BlockingWaitStrategy();
        _sequencer = producerType == ProducerType.Single
            ? new SingleProducerSequencer(size, waitStrategy)
            : new MultiProducerSequencer(size, waitStrategy);
        _entries = new T[size + 2 * Pad];
        for (var i = 0; i < size; i++) _entries[Pad + i] = factory();
        _indexMask = size - 1;
        WaitStrategy = waitStrategy;
    }

    /// <summary>Slots in the ring.</summary>
    public int Size => _sequencer.BufferSize;

    /// <summary>The sequencer producers claim through.</summary>
    public ISequencer Sequencer => _sequencer;

    /// <summary>How consumers of this ring wait.</summary>
    public IWaitStrategy WaitStrategy { get; }

    /// <summary>The entry of <paramref name="sequence"/>'s slot.</summary>
    public T this[long sequence]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_entries), Pad + (int)(sequence & _indexMask));
    }

    /// <summary>The highest published sequence (single producer) or claimed sequence (multi producer).</summary>
    public long Cursor => _sequencer.Cursor.Value;

    /// <summary>Claims the next slot, waiting while the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next() => _sequencer.Next();

    /// <summary>Claims the next <paramref name="n"/> slots; returns the highest sequence.</summary>
    public long Next(int n) => _sequencer.Next(n);

    /// <summary>Claims the next slot if the ring has room now.</summary>
    public bool TryNext(out long sequence) => _sequencer.TryNext(out sequence);

    /// <summary>Publishes a claimed slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long sequence) => _sequencer.Publish(sequence);

    /// <summary>Publishes claimed slots <paramref name="low"/> to <paramref name="high"/>.</summary>
    public void Publish(long low, long high) => _sequencer.Publish(low, high);

    /// <summary>Free slots now.</summary>
    public long RemainingCapacity => _sequencer.RemainingCapacity;

    /// <summary>A barrier for a consumer following <paramref name="dependencies"/> (the producer when none).</summary>
    public SequenceBarrier NewBarrier(params Sequence[] dependencies) => _sequencer.NewBarrier(dependencies);

    /// <summary>Consumer sequences the producer must not lap.</summary>
    public void AddGatingSequences(params Sequence[] sequences) => _sequencer.AddGatingSequences(sequences);

    /// <summary>Stops gating on a consumer sequence.</summary>
    public bool RemoveGatingSequence(Sequence sequence) => _sequencer.RemoveGatingSequence(sequence);

    /// <summary>Every entry, in slot order (for cleanup).</summary>
    public IEnumerable<T> Entries
    {
        get
        {
            for (var i = 0; i < Size; i++) yield return _entries[Pad + i];
        }
    }

    internal static void CheckSize(int size)
    {
        if (size < 1 || (size & (size - 1)) != 0)
            ThrowHelper.ArgumentOutOfRange(nameof(size), $"ring size must be a power of two, got {size}");
    }
}
