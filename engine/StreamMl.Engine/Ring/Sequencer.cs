using System.Runtime.CompilerServices;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine.Ring;

/// <summary>Whether one thread or several publish into a ring.</summary>
public enum ProducerType
{
    /// <summary>One publishing thread: claims are plain increments.</summary>
    Single,
    /// <summary>Several publishing threads: claims use compare-and-swap and readers check per-slot availability.</summary>
    Multi,
}

/// <summary>Hands out ring sequences to producers, never letting them lap the slowest consumer (the gating sequences).</summary>
public interface ISequencer
{
    /// <summary>Slots in the ring.</summary>
    int BufferSize { get; }

    /// <summary>The highest claimed (single producer: published) sequence.</summary>
    Sequence Cursor { get; }

    /// <summary>Claims the next <paramref name="n"/> sequences, waiting while the ring is full; returns the highest.</summary>
    long Next(int n = 1);

    /// <summary>Claims the next <paramref name="n"/> sequences when there is room now.</summary>
    bool TryNext(out long sequence, int n = 1);

    /// <summary>Makes <paramref name="sequence"/> visible to consumers.</summary>
    void Publish(long sequence);

    /// <summary>Makes <paramref name="low"/> to <paramref name="high"/> visible to consumers.</summary>
    void Publish(long low, long high);

    /// <summary>The highest sequence from <paramref name="low"/> up to <paramref name="available"/> that is published with
    /// no gap before it.</summary>
    long GetHighestPublishedSequence(long low, long available);

    /// <summary>Adds consumer sequences the producer must not overtake.</summary>
    void AddGatingSequences(params Sequence[] sequences);

    /// <summary>Removes a consumer sequence.</summary>
    bool RemoveGatingSequence(Sequence sequence);

    /// <summary>The lowest gating sequence, or the cursor when there is none.</summary>
    long MinimumGatingSequence { get; }

    /// <summary>Free slots now.</summary>
    long RemainingCapacity { get; }

    /// <summary>A barrier for a consumer that follows <paramref name="dependencies"/> (or the cursor when empty).</summary>
    SequenceBarrier NewBarrier(params Sequence[] dependencies);
}

/// <summary>Shared parts of the sequencers.</summary>
public abstract class SequencerBase : ISequencer
{
    private Sequence[] _gatingSequences = [];

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots.</summary>
    protected SequencerBase(int bufferSize, IWaitStrategy waitStrategy)
    {
        if (bufferSize < 1 || (bufferSize & (bufferSize - 1)) != 0)
            ThrowHelper.ArgumentOutOfRange(nameof(bufferSize), $"ring size must be a power of two, got {bufferSize}");
        BufferSize = bufferSize;
        WaitStrategy = waitStrategy;
    }

    /// <inheritdoc/>
    public int BufferSize { get; }

    /// <summary>The strategy consumers wait with; signalled on publish when it blocks.</summary>
    protected IWaitStrategy WaitStrategy { get; }

    /// <inheritdoc/>
    public Sequence Cursor { get; } = new();

    /// <summary>The consumer sequences producers must not overtake.</summary>
    protected Sequence[] GatingSequences => Volatile.Read(ref _gatingSequences);

    /// <inheritdoc/>
    public void AddGatingSequences(params Sequence[] sequences)
    {
        Sequence[] current, updated;
        do
        {
            current = Volatile.Read(ref _gatingSequences);
            updated = [.. current, .. sequences];
            var cursor = Cursor.Value;
            foreach (var sequence in sequences) sequence.Value = cursor;
        }
        while (Interlocked.CompareExchange(ref _gatingSequences, updated, current) != current);
    }

    /// <inheritdoc/>
    public bool RemoveGatingSequence(Sequence sequence)
    {
        Sequence[] current, updated;
        do
        {
            current = Volatile.Read(ref _gatingSequences);
            if (Array.IndexOf(current, sequence) < 0) return false;
            updated = current.Where(s => !ReferenceEquals(s, sequence)).ToArray();
        }
        while (Interlocked.CompareExchange(ref _gatingSequences, updated, current) != current);
        return true;
    }

    /// <inheritdoc/>
    public long MinimumGatingSequence => Sequence.Min(GatingSequences, Cursor.Value);

    /// <inheritdoc/>
    public abstract long RemainingCapacity { get; }

    /// <inheritdoc/>
    public SequenceBarrier NewBarrier(params Sequence[] dependencies) => new(this, WaitStrategy, Cursor, dependencies);

    /// <inheritdoc/>
    public abstract long Next(int n = 1);

    /// <inheritdoc/>
    public abstract bool TryNext(out long sequence, int n = 1);

    /// <inheritdoc/>
    public abstract void Publish(long sequence);

    /// <inheritdoc/>
    public abstract void Publish(long low, long high);

    /// <inheritdoc/>
    public abstract long GetHighestPublishedSequence(long low, long available);

    /// <summary>Rejects a claim size outside 1..<see cref="BufferSize"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void CheckClaim(int n)
    {
        if (n < 1 || n > BufferSize)
            ThrowHelper.ArgumentOutOfRange(nameof(n), $"can claim 1 to {BufferSize} slots, asked for {n}");
    }

    /// <summary>Waits for consumers while the producer is a full lap ahead: this is backpressure.</summary>
    protected static void WaitForCapacity(ref SpinWait spinner) => spinner.SpinOnce(sleep1Threshold: -1);
}

/// <summary>A sequencer for one publishing thread. Claims are plain arithmetic; only the wrap check reads the gating
/// sequences, and it caches their minimum until the producer needs more room.</summary>
public sealed class SingleProducerSequencer(int bufferSize, IWaitStrategy waitStrategy) : SequencerBase(bufferSize, waitStrategy)
{
    private PaddedLong _nextValue = new(Sequence.InitialValue);
    private PaddedLong _cachedGatingValue = new(Sequence.InitialValue);

    /// <inheritdoc/>
    public override long Next(int n = 1)
    {
        CheckClaim(n);
        var nextValue = _nextValue.Value;
        var nextSequence = nextValue + n;
        var wrapPoint = nextSequence - BufferSize;
        var cachedGating = _cachedGatingValue.Value;
        if (wrapPoint > cachedGating || cachedGating > nextValue)
        {
            // Make our progress visible before reading the consumers' (store-load), as the LMAX sequencer does.
            Cursor.SetValueVolatile(nextValue);
            var spinner = new SpinWait();
            long minSequence;
            while (wrapPoint > (minSequence = Sequence.Min(GatingSequences, nextValue)))
                WaitForCapacity(ref spinner);
            _cachedGatingValue.Value = minSequence;
        }
        _nextValue.Value = nextSequence;
        return nextSequence;
    }

    /// <inheritdoc/>
    public override bool TryNext(out long sequence, int n = 1)
    {
        CheckClaim(n);
        var nextValue = _nextValue.Value;
        var nextSequence = nextValue + n;
        var wrapPoint = nextSequence - BufferSize;
        var cachedGating = _cachedGatingValue.Value;
        if (wrapPoint > cachedGating || cachedGating > nextValue)
        {
            Cursor.SetValueVolatile(nextValue);
            var minSequence = Sequence.Min(GatingSequences, nextValue);
            _cachedGatingValue.Value = minSequence;
            if (wrapPoint > minSequence) { sequence = default; return false; }
        }
        _nextValue.Value = nextSequence;
        sequence = nextSequence;
        return true;
    }

    /// <inheritdoc/>
    public override long RemainingCapacity =>
        BufferSize - (_nextValue.Value - Sequence.Min(GatingSequences, _nextValue.Value));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        Cursor.Value = sequence;
        if (WaitStrategy.IsBlocking) WaitStrategy.SignalAllWhenBlocking();
    }

    /// <inheritdoc/>
    public override void Publish(long low, long high) => Publish(high);

    /// <inheritdoc/>
    public override long GetHighestPublishedSequence(long low, long available) => available;
}

/// <summary>A sequencer for several publishing threads. Claims move the cursor by compare-and-swap; since claims can be
/// published out of order, each slot records the lap it was published in and readers stop at the first gap.</summary>
public sealed class MultiProducerSequencer : SequencerBase
{
    private readonly Sequence _gatingSequenceCache = new();
    private readonly int[] _availableBuffer;
    private readonly int _indexMask;
    private readonly int _indexShift;

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots.</summary>
    public MultiProducerSequencer(int bufferSize, IWaitStrategy waitStrategy) : base(bufferSize, waitStrategy)
    {
        _availableBuffer = new int[bufferSize];
        Array.Fill(_availableBuffer, -1);
        _indexMask = bufferSize - 1;
        _indexShift = System.Numerics.BitOperations.Log2((uint)bufferSize);
    }

    /// <inheritdoc/>
    public override long Next(int n = 1)
    {
        CheckClaim(n);
        var spinner = new SpinWait();
        while (true)
        {
            var current = Cursor.Value;
            var next = current + n;
            var wrapPoint = next - BufferSize;
            var cachedGating = _gatingSequenceCache.Value;
            if (wrapPoint > cachedGating || cachedGating > current)
            {
                var gating = Sequence.Min(GatingSequences, current);
                if (wrapPoint > gating)
                {
                    WaitForCapacity(ref spinner);
                    continue;
                }
                _gatingSequenceCache.Value = gating;
            }
            else if (Cursor.CompareAndSet(current, next))
            {
                return next;
            }
        }
    }

    /// <inheritdoc/>
    public override bool TryNext(out long sequence, int n = 1)
    {
        CheckClaim(n);
        while (true)
        {
            var current = Cursor.Value;
            var next = current + n;
            if (next - BufferSize > Sequence.Min(GatingSequences, current)) { sequence = default; return false; }
            if (Cursor.CompareAndSet(current, next)) { sequence = next; return true; }
        }
    }

    /// <inheritdoc/>
    public override long RemainingCapacity
    {
        get
        {
            var produced = Cursor.Value;
            return BufferSize - (produced - Sequence.Min(GatingSequences, produced));
        }
    }

    /// <inheritdoc/>
    public override void Publish(long sequence)
    {
        SetAvailable(sequence);
        if (WaitStrategy.IsBlocking) WaitStrategy.SignalAllWhenBlocking();
    }

    /// <inheritdoc/>
    public override void Publish(long low, long high)
    {
        for (var s = low; s <= high; s++) SetAvailable(s);
        if (WaitStrategy.IsBlocking) WaitStrategy.SignalAllWhenBlocking();
    }

    /// <summary>True when <paramref name="sequence"/> has been published in its lap of the ring.</summary>
    public bool IsAvailable(long sequence) =>
        Volatile.Read(ref _availableBuffer[(int)sequence & _indexMask]) == (int)(sequence >>> _indexShift);

    /// <inheritdoc/>
    public override long GetHighestPublishedSequence(long low, long available)
    {
        for (var s = low; s <= available; s++)
            if (!IsAvailable(s)) return s - 1;
        return available;
    }

    private void SetAvailable(long sequence) =>
        Volatile.Write(ref _availableBuffer[(int)sequence & _indexMask], (int)(sequence >>> _indexShift));
}

/// <summary>A long alone on its cache lines, for producer-private counters that sit next to shared ones.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 120 * 2 + 8)]
internal struct PaddedLong(long value)
{
    [System.Runtime.InteropServices.FieldOffset(120)]
    public long Value = value;
}
