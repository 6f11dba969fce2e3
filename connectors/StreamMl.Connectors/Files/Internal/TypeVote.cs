using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Accumulates, for one column, which types every sampled value fits; the narrowest wins.</summary>
internal sealed class TypeVote(string name)
{
    private bool _int = true, _float = true, _bool = true, _timestamp = true;

    public string Name { get; } = name;
    public long NonNull { get; private set; }
    public long Nulls { get; private set; }
    public string? Example { get; private set; }

    public void AddNull() => Nulls++;

    public void AddText(ReadOnlySpan<char> text, NullTokens nulls)
    {
        if (nulls.IsNull(text))
        {
            Nulls++;
            return;
        }
        text = text.Trim();
        NonNull++;
        Example ??= text.ToString();
        if (_int) _int = long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) || IsWrittenAsExponent(text);
        if (_float) _float = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        if (_bool) _bool = text.Equals("true", StringComparison.OrdinalIgnoreCase) || text.Equals("false", StringComparison.OrdinalIgnoreCase);
        if (_timestamp) _timestamp = FieldParser.TryParseTimestamp(text, out _);
    }

    /// <summary>An integer another tool wrote in exponent form (R's <c>1e+05</c>); "3.0" still makes a float column.</summary>
    private static bool IsWrittenAsExponent(ReadOnlySpan<char> text) =>
        text.IndexOfAny('e', 'E') > 0 && FieldParser.TryParseIntegralDouble(text, long.MinValue / 2, long.MaxValue / 2, out _);

    /// <summary>A JSON number: integral or not.</summary>
    public void AddNumber(bool integral, string text)
    {
        NonNull++;
        Example ??= text;
        _int &= integral;
        _bool = false;
        _timestamp = false;
    }

    public void AddBool(bool value)
    {
        NonNull++;
        Example ??= value ? "true" : "false";
        _int = _float = _timestamp = false;
    }

    public InferredColumn Decide(IDictionary<string, ColumnType> overrides)
    {
        if (overrides.TryGetValue(Name, out var forced))
            return new InferredColumn(Name, forced, NonNull, Nulls, Example, "declared by override");
        if (NonNull == 0) return new InferredColumn(Name, ColumnType.String, 0, Nulls, null, "no value in the sample: string");
        var (type, why) = (_bool, _int, _float, _timestamp) switch
        {
            (true, _, _, _) => (ColumnType.Bool, "every value is true/false"),
            (_, true, _, _) => (ColumnType.Int64, "every value is an integer"),
            (_, _, true, _) => (ColumnType.Float64, "every value is a number"),
            (_, _, _, true) => (ColumnType.Timestamp, "every value is a date-time (UTC unless an offset is given)"),
            _ => (ColumnType.String, "some values are not numbers, booleans or dates"),
        };
        return new InferredColumn(Name, type, NonNull, Nulls, Example, why);
    }
}
