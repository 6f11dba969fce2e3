namespace StreamMl.Connectors.Files.Internal;

/// <summary>Recognises the text that means "no value". Lookups by span do not allocate.</summary>
internal sealed class NullTokens
{
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly System.Buffers.SearchValues<char> _firstChars;
    private readonly int _maxLength;

    public NullTokens(IEnumerable<string> tokens)
    {
        var set = new HashSet<string>(tokens.Select(t => t.Trim()).Where(t => t.Length > 0), StringComparer.Ordinal);
        _lookup = set.GetAlternateLookup<ReadOnlySpan<char>>();
        _firstChars = System.Buffers.SearchValues.Create([.. set.Select(t => t[0]).Distinct()]);
        _maxLength = set.Count == 0 ? 0 : set.Max(t => t.Length);
        AnyLooksNumeric = set.Any(t => FieldParser.StartsLikeNumber(t) || FieldParser.TryParsePlainInteger(t, out _));
    }

    /// <summary>True when a token could be read as a number (a sentinel such as <c>-999</c>): numeric fields must
    /// then be checked against the tokens before they are parsed.</summary>
    public bool AnyLooksNumeric { get; }

    public bool IsNull(ReadOnlySpan<char> text)
    {
        // Most fields are numbers: a first character that starts no token settles it without hashing the field.
        if (text.Length > 0 && text[0] > ' ' && !_firstChars.Contains(text[0])) return false;
        var trimmed = text.Trim();
        return trimmed.IsEmpty || (trimmed.Length <= _maxLength && _lookup.Contains(trimmed));
    }
}
