namespace StreamMl.Connectors.Files.Internal;

/// <summary>Recognises the text that means "no value". Lookups by span do not allocate.</summary>
internal sealed class NullTokens
{
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public NullTokens(IEnumerable<string> tokens)
    {
        var set = new HashSet<string>(tokens.Select(t => t.Trim()), StringComparer.Ordinal);
        _lookup = set.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool IsNull(ReadOnlySpan<char> text)
    {
        var trimmed = text.Trim();
        return trimmed.IsEmpty || _lookup.Contains(trimmed);
    }
}
