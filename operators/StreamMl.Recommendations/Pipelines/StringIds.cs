namespace StreamMl.Recommendations.Pipelines;

/// <summary>Maps string ids (user names, SKUs) to dense numeric ids 0, 1, 2, ... and back, for recommenders that key
/// on <c>long</c>. Thread safe: the pipeline adds ids while servers look them up.</summary>
public sealed class StringIds
{
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string> _names = [];
    private readonly Lock _gate = new();

    /// <summary>Creates an empty map.</summary>
    public StringIds() => _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Ids assigned so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _names.Count;
        }
    }

    /// <summary>The id of <paramref name="name"/>, assigning the next one when new.</summary>
    public long GetOrAdd(ReadOnlySpan<char> name)
    {
        lock (_gate)
        {
            if (_lookup.TryGetValue(name, out var id)) return id;
            var text = name.ToString();
            id = _names.Count;
            _names.Add(text);
            _ids.Add(text, id);
            return id;
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

    /// <summary>Replaces the map with one written by <see cref="Snapshot"/>.</summary>
    public void Restore(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        lock (_gate)
        {
            _ids.Clear();
            _names.Clear();
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                _ids.Add(name, i);
                _names.Add(name);
            }
        }
    }
}
