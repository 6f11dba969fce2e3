using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Counts, for one column, how many sampled values fall in each kind (boolean, integer, integer past int64,
/// other number, date-time, text) and decides the column's type by majority: the kind family (boolean, number,
/// date-time) holding at least <see cref="FileSourceOptions.InferenceThreshold"/> of the non-null values wins, and the
/// values outside it are kept (line and text) to be shown as the rows that will be dead-lettered.</summary>
internal sealed class TypeVote(string name)
{
    private const int Examples = 5;

    private enum Kind { Bool, Int, BigInt, Float, Timestamp, Text }

    private readonly long[] _counts = new long[6];
    private readonly List<InferredValue>[] _examples = [.. Enumerable.Range(0, 6).Select(_ => new List<InferredValue>())];
    // A true/false column reads more than true and false (1, yes, t...): those are not outliers there, and the examples
    // of its outliers are the values its reader rejects.
    private long _readableAsBool;
    private readonly List<InferredValue> _notBool = [];

    public string Name { get; } = name;
    public long NonNull { get; private set; }
    public long Nulls { get; private set; }
    public string? Example { get; private set; }

    public void AddNull() => Nulls++;

    public void AddText(ReadOnlySpan<char> text, NullTokens nulls, long line)
    {
        // Inference types the value as a number would be parsed at read time: with the spaces around it ignored.
        if (nulls.IsNull(text))
        {
            Nulls++;
            return;
        }
        var trimmed = text.Trim();
        Kind kind;
        if (trimmed.Equals("true", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("false", StringComparison.OrdinalIgnoreCase)) kind = Kind.Bool;
        else if (long.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) || IsWrittenAsExponent(trimmed)) kind = Kind.Int;
        else if (IsPlainInteger(trimmed)) kind = Kind.BigInt;
        else if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) kind = Kind.Float;
        else if (FieldParser.TryParseTimestamp(trimmed, out _)) kind = Kind.Timestamp;
        else kind = Kind.Text;
        var readsAsBool = kind == Kind.Bool || FieldParser.TryParseBool(trimmed, out _);
        if (readsAsBool && kind != Kind.Bool) _readableAsBool++;
        Add(kind, text, line, readsAsBool);
    }

    /// <summary>An integer another tool wrote in exponent form (R's <c>1e+05</c>); "3.0" still makes a float column.</summary>
    private static bool IsWrittenAsExponent(ReadOnlySpan<char> text) =>
        text.IndexOfAny('e', 'E') > 0 && FieldParser.TryParseIntegralDouble(text, -FieldParser.MaxExactDoubleInteger, FieldParser.MaxExactDoubleInteger, out _);

    /// <summary>Digits with an optional sign: an integer, however long.</summary>
    private static bool IsPlainInteger(ReadOnlySpan<char> text)
    {
        if (!text.IsEmpty && text[0] is '-' or '+') text = text[1..];
        return !text.IsEmpty && !text.ContainsAnyExceptInRange('0', '9');
    }

    /// <summary>A JSON number, given as its text.</summary>
    public void AddNumber(ReadOnlySpan<char> text, long line)
    {
        var kind = long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? Kind.Int
            : IsPlainInteger(text) ? Kind.BigInt : Kind.Float;
        Add(kind, text, line, readsAsBool: false); // the JSON reader puts no number in a true/false column
    }

    public void AddBool(bool value, long line) => Add(Kind.Bool, value ? "true" : "false", line, readsAsBool: true);

    private void Add(Kind kind, ReadOnlySpan<char> text, long line, bool readsAsBool)
    {
        NonNull++;
        Example ??= text.ToString();
        _counts[(int)kind]++;
        if (_examples[(int)kind].Count < Examples) _examples[(int)kind].Add(new InferredValue(line, text.ToString()));
        if (!readsAsBool && _notBool.Count < Examples) _notBool.Add(new InferredValue(line, text.ToString()));
    }

    private long Count(Kind kind) => _counts[(int)kind];

    public InferredColumn Decide(IDictionary<string, ColumnType> overrides, double threshold)
    {
        if (overrides.TryGetValue(Name, out var forced))
            return new InferredColumn(Name, forced, NonNull, Nulls, Example, "declared by override");
        if (NonNull == 0) return new InferredColumn(Name, ColumnType.String, 0, Nulls, null, "no value in the sample: string");
        var numbers = Count(Kind.Int) + Count(Kind.BigInt) + Count(Kind.Float);
        var bools = Count(Kind.Bool);
        var times = Count(Kind.Timestamp);
        var best = Math.Max(numbers, Math.Max(bools, times));
        if (best < threshold * NonNull)
            return new InferredColumn(Name, ColumnType.String, NonNull, Nulls, Example,
                (best == 0 ? "no value is a number, boolean or date" : $"{NonNull - best} of {NonNull} values are not {FamilyOf(best, numbers, bools)}"));
        Kind[] family;
        ColumnType type;
        string what;
        if (best == bools)
        {
            (family, type, what) = ([Kind.Bool], ColumnType.Bool, "true/false");
        }
        else if (best == numbers)
        {
            family = [Kind.Int, Kind.BigInt, Kind.Float];
            if (Count(Kind.BigInt) > 0)
            {
                // There is no exact type for them: float64 would round 9223372036854775808 silently, text keeps it.
                var big = _examples[(int)Kind.BigInt][0];
                return new InferredColumn(Name, ColumnType.String, NonNull, Nulls, Example,
                    $"{Count(Kind.BigInt)} integers do not fit int64 (line {big.Line}: {big.Value}): string keeps them exact; declare float64 to accept rounding");
            }
            (type, what) = Count(Kind.Float) > 0 ? (ColumnType.Float64, "a number") : (ColumnType.Int64, "an integer");
        }
        else
        {
            (family, type, what) = ([Kind.Timestamp], ColumnType.Timestamp, "a date-time (UTC unless an offset is given)");
        }
        var isBool = type == ColumnType.Bool;
        var outliers = NonNull - family.Sum(Count) - (isBool ? _readableAsBool : 0);
        var why = outliers == 0 ? $"every value is {what}" : $"{NonNull - outliers} of {NonNull} values are {what}";
        var examples = outliers == 0 ? [] : isBool ? [.. _notBool] : Enum.GetValues<Kind>().Where(k => !family.Contains(k))
            .SelectMany(k => _examples[(int)k]).OrderBy(v => v.Line).Take(Examples).ToList();
        return new InferredColumn(Name, type, NonNull, Nulls, Example, why) { Outliers = outliers, OutlierExamples = examples };
    }

    private static string FamilyOf(long best, long numbers, long bools) =>
        best == numbers ? "numbers" : best == bools ? "true/false" : "date-times";
}
