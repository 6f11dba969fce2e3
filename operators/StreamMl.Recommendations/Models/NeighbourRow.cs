using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamMl.Recommendations.Models;

/// <summary>One item's co-occurrence counts with other items, at most a fixed number of them. A struct kept in an array
/// with one buffer holding the neighbours' indices, then their counts (as float bits), so an update reaches the row's
/// data in one hop and finds a neighbour with one SIMD scan of a few adjacent cache lines. (An open-addressing table was
/// tried and was slower: rows churn, so most updates miss, and a miss probes a long run; the sequential scan is what the
/// prefetcher likes.)</summary>
internal struct NeighbourRow
{
    private const int InitialCapacity = 4;

    // [0, capacity): neighbour indices; [capacity, 2·capacity): their counts as float bits.
    private int[]? _data;

    // Index + 1 of the smallest count once the row is full, or 0 when unknown. A newcomer takes the smallest count's
    // place with a count no larger than before (weights are at most the count it replaces for implicit events), so it
    // usually stays the smallest and the next newcomer needs no scan; only growing that entry's count forces a rescan.
    private int _smallestPlusOne;

    /// <summary>Neighbours held.</summary>
    public int Count { get; private set; }

    /// <summary>The neighbours' catalogue indices.</summary>
    public readonly ReadOnlySpan<int> Items => _data is null ? default : _data.AsSpan(0, Count);

    /// <summary>The counts, in the order of <see cref="Items"/>.</summary>
    public readonly ReadOnlySpan<float> Counts =>
        _data is null ? default : MemoryMarshal.Cast<int, float>(_data.AsSpan(_data.Length / 2, Count));

    /// <summary>The count with <paramref name="item"/>, 0 when it is not a neighbour.</summary>
    public readonly float CountOf(int item)
    {
        var index = Items.IndexOf(item);
        return index < 0 ? 0f : Counts[index];
    }

    /// <summary>Asks for the cache lines of the row's neighbour indices ahead of an <see cref="Add"/>, which scans them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly unsafe void Prefetch()
    {
        if (_data is null || !System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        var start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data));
        for (var offset = 0; offset < Count * sizeof(int); offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + offset);
    }

    /// <summary>Adds <paramref name="weight"/> to the count with <paramref name="item"/>; when the row is full, a new item
    /// replaces the one with the smallest count (ties: the first).</summary>
    public void Add(int item, float weight, int capacity)
    {
        _data ??= new int[2 * InitialCapacity];
        var data = _data;
        var half = data.Length / 2;
        var index = data.AsSpan(0, Count).IndexOf(item);
        if (index >= 0)
        {
            ref var count = ref Unsafe.As<int, float>(ref data[half + index]);
            count += weight;
            if (index + 1 == _smallestPlusOne) _smallestPlusOne = 0;
            return;
        }
        if (Count < capacity)
        {
            if (Count == half)
            {
                Grow(Math.Min(capacity, half * 2));
                data = _data;
                half = data.Length / 2;
            }
            data[Count] = item;
            data[half + Count] = BitConverter.SingleToInt32Bits(weight);
            Count++;
            return;
        }
        var counts = MemoryMarshal.Cast<int, float>(data.AsSpan(half, Count));
        var smallest = _smallestPlusOne > 0 ? _smallestPlusOne - 1 : TensorPrimitives.IndexOfMin(counts);
        var replaced = counts[smallest];
        data[smallest] = item;
        counts[smallest] = weight;
        _smallestPlusOne = weight <= replaced ? smallest + 1 : 0;
    }

    private void Grow(int capacity)
    {
        var data = new int[2 * capacity];
        if (_data is not null)
        {
            var half = _data.Length / 2;
            _data.AsSpan(0, Count).CopyTo(data);
            _data.AsSpan(half, Count).CopyTo(data.AsSpan(capacity));
        }
        _data = data;
    }

    public readonly void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        var items = Items;
        var counts = Counts;
        for (var i = 0; i < Count; i++)
        {
            writer.Write(items[i]);
            writer.Write(counts[i]);
        }
    }

    public static NeighbourRow Read(BinaryReader reader, int capacity)
    {
        var row = new NeighbourRow();
        var count = reader.ReadInt32();
        if (count > capacity) throw new InvalidDataException($"an item has {count} neighbours, more than MaxNeighbours ({capacity})");
        row.Grow(Math.Max(count, InitialCapacity));
        var half = row._data!.Length / 2;
        for (var i = 0; i < count; i++)
        {
            row._data[i] = reader.ReadInt32();
            row._data[half + i] = BitConverter.SingleToInt32Bits(reader.ReadSingle());
        }
        row.Count = count;
        return row;
    }
}
