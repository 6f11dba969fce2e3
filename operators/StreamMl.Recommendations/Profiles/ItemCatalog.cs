namespace StreamMl.Recommendations.Profiles;

/// <summary>Item ids mapped to dense indices (0, 1, 2, ... in order of first appearance), with each item's category.</summary>
internal sealed class ItemCatalog
{
    private readonly Dictionary<long, int> _indexById = [];
    private long[] _ids = new long[64];
    private int[] _categories = new int[64];

    public ItemCatalog(int maxItems) => MaxItems = maxItems;

    public int MaxItems { get; }

    public int Count { get; private set; }

    public ReadOnlySpan<long> Ids => _ids.AsSpan(0, Count);

    public ReadOnlySpan<int> Categories => _categories.AsSpan(0, Count);

    /// <summary>The index of <paramref name="id"/>, adding it when new; -1 when the catalogue is full.</summary>
    public int GetOrAdd(long id, int category)
    {
        if (_indexById.TryGetValue(id, out var index))
        {
            if (category != Interaction.NoCategory) _categories[index] = category;
            return index;
        }
        if (Count == MaxItems) return -1;
        index = Count++;
        if (index == _ids.Length)
        {
            Array.Resize(ref _ids, _ids.Length * 2);
            Array.Resize(ref _categories, _categories.Length * 2);
        }
        _ids[index] = id;
        _categories[index] = category;
        _indexById.Add(id, index);
        return index;
    }

    /// <summary>The index of <paramref name="id"/>, or -1 when unknown.</summary>
    public int IndexOf(long id) => _indexById.GetValueOrDefault(id, -1);

    public void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        for (var i = 0; i < Count; i++)
        {
            writer.Write(_ids[i]);
            writer.Write(_categories[i]);
        }
    }

    public static ItemCatalog Read(BinaryReader reader, int maxItems)
    {
        var catalog = new ItemCatalog(Math.Max(maxItems, 1));
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadInt64();
            var category = reader.ReadInt32();
            if (catalog.GetOrAdd(id, category) < 0)
                throw new InvalidDataException($"the snapshot holds {count} items, more than MaxItems ({maxItems})");
        }
        return catalog;
    }
}
