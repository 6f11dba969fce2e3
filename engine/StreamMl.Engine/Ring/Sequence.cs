using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamMl.Engine.Ring;

/// <summary>A 64-bit counter owned by one writer (a producer's cursor or a consumer's progress) and read by others.
/// The value sits alone on its cache line pair so that two sequences written by different cores never share a line
/// (false sharing halves handoff throughput; LMAX measured it, and <c>SequenceLayoutTests</c> checks the layout).</summary>
[StructLayout(LayoutKind.Explicit, Size = Padding * 2 + sizeof(long))]
public sealed class Sequence
{
    /// <summary>Bytes kept free on each side of the value: a 64-byte line plus adjacent-line prefetch, minus the object header.</summary>
    internal const int Padding = 120;

    /// <summary>The value a sequence starts at: nothing published or consumed yet.</summary>
    public const long InitialValue = -1;

    [FieldOffset(Padding)]
    private long _value;

    /// <summary>Creates a sequence at <paramref name="initialValue"/>.</summary>
    public Sequence(long initialValue = InitialValue) => _value = initialValue;

    /// <summary>The value, read with acquire semantics.</summary>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set => Volatile.Write(ref _value, value);
    }

    /// <summary>Sets the value with a full fence, so later reads cannot move before the write.</summary>
    public void SetValueVolatile(long value) => Interlocked.Exchange(ref _value, value);

    /// <summary>Atomically sets the value to <paramref name="newValue"/> when it equals <paramref name="expected"/>.</summary>
    public bool CompareAndSet(long expected, long newValue) =>
        Interlocked.CompareExchange(ref _value, newValue, expected) == expected;

    /// <summary>Atomically adds <paramref name="increment"/> and returns the new value.</summary>
    public long AddAndGet(long increment) => Interlocked.Add(ref _value, increment);

    internal ref long ValueRef => ref _value;

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The smallest value among <paramref name="sequences"/>, or <paramref name="minimum"/> when that is smaller or there are none.</summary>
    public static long Min(Sequence[] sequences, long minimum = long.MaxValue)
    {
        foreach (var sequence in sequences) minimum = Math.Min(minimum, sequence.Value);
        return minimum;
    }
}
