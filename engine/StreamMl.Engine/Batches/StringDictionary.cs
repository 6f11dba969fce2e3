namespace StreamMl.Engine;

/// <summary>The values of a dictionary-encoded string column: each distinct string gets the next int32 code.
/// Lookups by <see cref="ReadOnlySpan{T}"/> of chars do not allocate once a value is known.</summary>
public sealed class StringDictionary
{
    private readonly List<string> _values = [];
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Creates an empty dictionary.</summary>
    public StringDictionary() => _lookup = _codes.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Number of distinct values.</summary>
    public int Count => _values.Count;

    /// <summary>The value of a code.</summary>
    public string this[int code] => _values[code];

    /// <summary>All values in code order.</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>The code of <paramref name="value"/>, adding it when new.</summary>
    public int GetOrAdd(ReadOnlySpan<char> value)
    {
        if (_lookup.TryGetValue(value, out var code)) return code;
        return Add(value.ToString());
    }

    /// <summary>The code of <paramref name="value"/>, adding it when new.</summary>
    public int GetOrAdd(string value) => _codes.TryGetValue(value, out var code) ? code : Add(value);

    /// <summary>The code of <paramref name="value"/>, or -1 when it is not in the dictionary.</summary>
    public int CodeOf(ReadOnlySpan<char> value) => _lookup.TryGetValue(value, out var code) ? code : -1;

    /// <summary>Forgets every value.</summary>
    public void Clear()
    {
        _values.Clear();
        _codes.Clear();
    }

    /// <summary>Makes this dictionary hold exactly the values of <paramref name="other"/>, in the same order.</summary>
    public void CopyFrom(StringDictionary other)
    {
        Clear();
        foreach (var value in other._values) Add(value);
    }

    private int Add(string value)
    {
        var code = _values.Count;
        _values.Add(value);
        _codes.Add(value, code);
        return code;
    }
}
