namespace StreamMl.Connectors.Files.Internal;

/// <summary>Recognises the text that means "no value". Lookups by span do not allocate. Text in a string column is
/// kept as written: it is null only when it is empty or exactly a token, unless <see cref="TrimStrings"/> is set
/// (<see cref="FileSourceOptions.Trim"/>); in other columns spaces around a value never count.</summary>
internal sealed class NullTokens
{
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly System.Buffers.SearchValues<char> _firstChars;
    private readonly int _maxLength;

    public NullTokens(IEnumerable<string> tokens, bool trimStrings = false)
    {
        TrimStrings = trimStrings;
        var set = new HashSet<string>(tokens.Select(t => t.Trim()).Where(t => t.Length > 0), StringComparer.Ordinal);
        _lookup = set.GetAlternateLookup<ReadOnlySpan<char>>();
        _firstChars = System.Buffers.SearchValues.Create([.. set.Select(t => t[0]).Distinct()]);
        _maxLength = set.Count == 0 ? 0 : set.Max(t => t.Length);
        AnyLooksNumeric = set.Any(t => FieldParser.StartsLikeNumber(t) || FieldParser.TryParsePlainInteger(t, out _));
    }

    /// <summary>True when a token could be read as a number (a sentinel such as <c>-999</c>): numeric fields must
    /// then be checked against the tokens before they are parsed.</summary>
    public bool AnyLooksNumeric { get; }

    /// <summary>Strings lose the white space around them (<see cref="FileSourceOptions.Trim"/>).</summary>
    public bool TrimStrings { get; }

    /// <summary>Null for a string column: the exact text, or the trimmed text with <see cref="TrimStrings"/>.</summary>
    public bool IsNullString(ReadOnlySpan<char> text)
    {
        if (TrimStrings) return IsNull(text);
        if (text.Length > 0 && !_firstChars.Contains(text[0])) return false;
        return text.IsEmpty || (text.Length <= _maxLength && _lookup.Contains(text));
    }

    /// <summary>Null for a column of any other type: white space around the text does not count.</summary>
    public bool IsNull(ReadOnlySpan<char> text)
    {
        // Most fields are numbers: a first character that starts no token settles it without hashing the field.
        if (text.Length > 0 && text[0] > ' ' && !_firstChars.Contains(text[0])) return false;
        var trimmed = text.Trim();
        return trimmed.IsEmpty || (trimmed.Length <= _maxLength && _lookup.Contains(trimmed));
    }
}
