using System.Runtime.CompilerServices;

namespace StreamMl.Operators.Validation;

/// <summary>An open-addressing set of 64-bit values for exact distinct counts. The profiler adds every value of every
/// column, and <see cref="HashSet{T}"/>'s bucket and entry indirections made the validator's profile several times
/// the cost of the rules themselves; linear probing over one array with a multiplicative hash is a few nanoseconds.</summary>
internal sealed class LongSet
{
    private long[] _slots = new long[64];
    private bool[] _used = new bool[64];
    private int _shift = 64 - 6;

    public int Count { get; private set; }

    /// <summary>Adds <paramref name="value"/>; true when it was new.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Add(long value)
    {
        var mask = _slots.Length - 1;
        var index = (int)(((ulong)value * 0x9E3779B97F4A7C15UL) >> _shift);
        while (_used[index])
        {
            if (_slots[index] == value) return false;
            index = (index + 1) & mask;
        }
        _used[index] = true;
        _slots[index] = value;
        if (++Count * 2 > _slots.Length) Grow();
        return true;
    }

    /// <summary>Adds values in order until the set holds more than <paramref name="limit"/>; returns how many were
    /// taken. One loop with the table in locals: a call per value cost a third of the profile on low-cardinality columns.</summary>
    public int AddUntil(ReadOnlySpan<long> values, int limit)
    {
        var slots = _slots;
        var used = _used;
        var mask = slots.Length - 1;
        var shift = _shift;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i];
            var index = (int)(((ulong)value * 0x9E3779B97F4A7C15UL) >> shift);
            while (true)
            {
                if (!used[index])
                {
                    used[index] = true;
                    slots[index] = value;
                    if (++Count * 2 > slots.Length)
                    {
                        Grow();
                        (slots, used, mask, shift) = (_slots, _used, _slots.Length - 1, _shift);
                    }
                    if (Count > limit) return i + 1;
                    break;
                }
                if (slots[index] == value) break;
                index = (index + 1) & mask;
            }
        }
        return values.Length;
    }

    /// <summary>The values in the set, in no particular order.</summary>
    public IEnumerable<long> Values()
    {
        for (var i = 0; i < _slots.Length; i++)
            if (_used[i]) yield return _slots[i];
    }

    private void Grow()
    {
        var oldSlots = _slots;
        var oldUsed = _used;
        _slots = new long[oldSlots.Length * 2];
        _used = new bool[oldSlots.Length * 2];
        _shift--;
        Count = 0;
        for (var i = 0; i < oldSlots.Length; i++)
            if (oldUsed[i]) Add(oldSlots[i]);
    }
}
