namespace StreamMl.Recommendations.Pipelines;

/// <summary>Maps string ids (user names, SKUs) to dense numeric ids 0, 1, 2, ... and back, for recommenders that key
/// on <c>long</c>. Bounded: once <see cref="Capacity"/> names are mapped, new names are refused
/// (<see cref="TryGetOrAdd"/> returns false) and known ones keep their ids. Thread safe: the pipeline adds ids while
/// servers look them up.</summary>
public sealed class StringIds
{
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string> _names = [];
    private readonly Lock _gate = new();

    /// <summary>Creates an empty map that holds at most <paramref name="capacity"/> names (default: no practical bound).</summary>
    public StringIds(int capacity = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The most names the map holds.</summary>
    public int Capacity { get; }

    /// <summary>Ids assigned so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _names.Count;
        }
    }

    /// <summary>The id of <paramref name="name"/>, assigning the next one when new; throws when the map is full.</summary>
    public long GetOrAdd(ReadOnlySpan<char> name) => TryGetOrAdd(name, out var id) ? id
        : throw new InvalidOperationException($"cannot add '{name}': the id map already holds its {Capacity} names");

    /// <summary>The id of <paramref name="name"/>, assigning the next one when new; false (and id -1) when the name is
    /// new and the map already holds <see cref="Capacity"/> names.</summary>
    public bool TryGetOrAdd(ReadOnlySpan<char> name, out long id)
    {
        lock (_gate)
        {
            if (_lookup.TryGetValue(name, out id)) return true;
            if (_names.Count >= Capacity)
            {
                id = -1;
                return false;
            }
            var text = name.ToString();
            id = _names.Count;
            _names.Add(text);
            _ids.Add(text, id);
            return true;
        }
    }

    /// <summary>The id of <paramref name="name"/>, or false when it was never seen.</summary>
    public bool TryGet(ReadOnlySpan<char> name, out long id)
    {
        lock (_gate) return _lookup.TryGetValue(name, out id);
    }

    /// <summary>The name of <paramref name="id"/>; throws when it was never assigned.</summary>
    public string NameOf(long id)
    {
        lock (_gate)
        {
            if ((ulong)id >= (ulong)_names.Count) throw new ArgumentOutOfRangeException(nameof(id), id, $"no string was assigned id {id}");
            return _names[(int)id];
        }
    }

    /// <summary>Writes every name in id order.</summary>
    public void Snapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        lock (_gate)
        {
            writer.Write(_names.Count);
            foreach (var name in _names) writer.Write(name);
        }
    }

    /// <summary>Replaces the map with one written by <see cref="Snapshot"/>; throws <see cref="InvalidDataException"/>
    /// when it holds more names than <see cref="Capacity"/>.</summary>
    public void Restore(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        lock (_gate)
        {
            _ids.Clear();
            _names.Clear();
            var count = reader.ReadInt32();
            if (count < 0 || count > Capacity)
                throw new InvalidDataException($"it holds {count} string ids and this map takes at most {Capacity}");
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                _ids.Add(name, i);
                _names.Add(name);
            }
        }
    }
}
