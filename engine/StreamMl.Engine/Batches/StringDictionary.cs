namespace StreamMl.Engine;

/// <summary>The values of a dictionary-encoded string column: each distinct string gets the next int32 code.
/// Codes are per batch (<see cref="Clear"/> runs when a batch is reset), but the strings themselves are interned across
/// clears, so a source that sees the same device ids batch after batch allocates no new strings for them.</summary>
public sealed class StringDictionary
{
    /// <summary>Distinct strings kept across clears; past this many, new strings are still coded but not kept.</summary>
    public const int MaxInterned = 65_536;

    private readonly List<string> _values = [];
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly HashSet<string> _interned = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _internLookup;

    /// <summary>Creates an empty dictionary.</summary>
    public StringDictionary()
    {
        _lookup = _codes.GetAlternateLookup<ReadOnlySpan<char>>();
        _internLookup = _interned.GetAlternateLookup<ReadOnlySpan<char>>();
    }

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
        if (!_internLookup.TryGetValue(value, out var text))
        {
            text = value.ToString();
            if (_interned.Count < MaxInterned) _interned.Add(text);
        }
        return Add(text);
    }

    /// <summary>The code of <paramref name="value"/>, adding it when new.</summary>
    public int GetOrAdd(string value) => _codes.TryGetValue(value, out var code) ? code : Add(value);

    /// <summary>The code of <paramref name="value"/>, or -1 when it is not in the dictionary.</summary>
    public int CodeOf(ReadOnlySpan<char> value) => _lookup.TryGetValue(value, out var code) ? code : -1;

    /// <summary>Forgets every value and code; interned strings are kept for the next batch.</summary>
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
