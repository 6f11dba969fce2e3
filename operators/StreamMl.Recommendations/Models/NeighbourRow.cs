using System.Numerics.Tensors;

namespace StreamMl.Recommendations.Models;

/// <summary>One item's co-occurrence counts with other items, at most a fixed number of them.</summary>
internal sealed class NeighbourRow
{
    private int[] _items = new int[4];
    private float[] _counts = new float[4];

    // Index of the smallest count once the row is full, or -1 when unknown. A newcomer takes the smallest count's slot
    // with a count no larger than before (weights are at most the count it replaces for implicit events), so it usually
    // stays the smallest and the next newcomer needs no scan; only growing that entry's count forces a rescan.
    private int _smallest = -1;

    public int Count { get; private set; }

    public ReadOnlySpan<int> Items => _items.AsSpan(0, Count);

    public ReadOnlySpan<float> Counts => _counts.AsSpan(0, Count);

    /// <summary>Adds <paramref name="weight"/> to the count with <paramref name="item"/>; when the row is full, a new item
    /// replaces the one with the smallest count (ties: the first).</summary>
    public void Add(int item, float weight, int capacity)
    {
        var index = _items.AsSpan(0, Count).IndexOf(item);
        if (index >= 0)
        {
            _counts[index] += weight;
            if (index == _smallest) _smallest = -1;
            return;
        }
        if (Count < capacity)
        {
            if (Count == _items.Length)
            {
                var size = Math.Min(capacity, _items.Length * 2);
                Array.Resize(ref _items, size);
                Array.Resize(ref _counts, size);
            }
            _items[Count] = item;
            _counts[Count] = weight;
            Count++;
            return;
        }
        var smallest = _smallest >= 0 ? _smallest : TensorPrimitives.IndexOfMin(_counts.AsSpan(0, Count));
        var replaced = _counts[smallest];
        _items[smallest] = item;
        _counts[smallest] = weight;
        _smallest = weight <= replaced ? smallest : -1;
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        for (var i = 0; i < Count; i++)
        {
            writer.Write(_items[i]);
            writer.Write(_counts[i]);
        }
    }

    public static NeighbourRow Read(BinaryReader reader, int capacity)
    {
        var row = new NeighbourRow();
        var count = reader.ReadInt32();
        if (count > capacity) throw new InvalidDataException($"an item has {count} neighbours, more than MaxNeighbours ({capacity})");
        row._items = new int[Math.Max(count, 4)];
        row._counts = new float[row._items.Length];
        for (var i = 0; i < count; i++)
        {
            row._items[i] = reader.ReadInt32();
            row._counts[i] = reader.ReadSingle();
        }
        row.Count = count;
        return row;
    }
}
