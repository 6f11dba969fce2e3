using System.Globalization;
using System.Runtime.CompilerServices;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Parses text into a typed column cell with invariant-culture rules.</summary>
internal static class FieldParser
{
    private const NumberStyles FloatStyle = NumberStyles.Float;
    private const NumberStyles IntStyle = NumberStyles.Integer;

    /// <summary>2^53: up to it every integer has an exact float64, so an integer written as <c>1e+05</c> or <c>3.0</c>
    /// is read into an int64 column; inference counts such text as an integer only up to it too.</summary>
    public const long MaxExactDoubleInteger = 9_007_199_254_740_992;

    /// <summary>Writes <paramref name="text"/> into row <paramref name="row"/> of <paramref name="column"/>: null
    /// tokens become null; returns false when the text is not a value of the column's type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryWrite(ReadOnlySpan<char> text, Column column, int row, NullTokens nulls)
    {
        if (column.Type == ColumnType.String)
        {
            // Text is kept as written (quoted or not), as DuckDB and pandas keep it; trimming is asked for.
            if (nulls.IsNullString(text))
            {
                column.SetNull(row);
                return true;
            }
            column.Values<int>()[row] = column.Dictionary!.GetOrAdd(nulls.TrimStrings ? text.Trim() : text);
            if (column.MayHaveNulls) column.SetValid(row);
            return true;
        }
        // Numbers, booleans and date-times parse with spaces around them (DuckDB's CAST and pandas do the same).
        if (nulls.IsNull(text))
        {
            column.SetNull(row);
            return true;
        }
        if (!TryWriteValue(text.Trim(), column, row)) return false;
        if (column.MayHaveNulls) column.SetValid(row);
        return true;
    }

    /// <summary>Writes a non-null value; false when it does not parse.</summary>
    public static bool TryWriteValue(ReadOnlySpan<char> text, Column column, int row)
    {
        switch (column.Type)
        {
            case ColumnType.Float32:
                if (!float.TryParse(text, FloatStyle, CultureInfo.InvariantCulture, out var f)) return false;
                column.Values<float>()[row] = f;
                return true;
            case ColumnType.Float64:
                if (!double.TryParse(text, FloatStyle, CultureInfo.InvariantCulture, out var d)) return false;
                column.Values<double>()[row] = d;
                return true;
            case ColumnType.Int32:
                if (TryParsePlainInteger(text, out var plain) && plain is >= int.MinValue and <= int.MaxValue)
                {
                    column.Values<int>()[row] = (int)plain;
                    return true;
                }
                if (!int.TryParse(text, IntStyle, CultureInfo.InvariantCulture, out var i))
                {
                    if (!TryParseIntegralDouble(text, int.MinValue, int.MaxValue, out var wide)) return false;
                    i = (int)wide;
                }
                column.Values<int>()[row] = i;
                return true;
            case ColumnType.Int64:
                if (!TryParsePlainInteger(text, out var l) && !long.TryParse(text, IntStyle, CultureInfo.InvariantCulture, out l)
                    && !TryParseIntegralDouble(text, -MaxExactDoubleInteger, MaxExactDoubleInteger, out l)) return false;
                column.Values<long>()[row] = l;
                return true;
            case ColumnType.Bool:
                if (!TryParseBool(text, out var b)) return false;
                column.Values<byte>()[row] = b ? (byte)1 : (byte)0;
                return true;
            case ColumnType.Timestamp:
                if (!TryParseTimestamp(text, out var micros)) return false;
                column.Values<long>()[row] = micros;
                return true;
            case ColumnType.String:
                column.Values<int>()[row] = column.Dictionary!.GetOrAdd(text);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The common case of an integer field, an optional minus sign and up to 18 ASCII digits, parsed without
    /// the general number parser (which handles signs, white space and cultures, and took half the CSV source's time
    /// on the credit file's 25 integer columns). False for anything else, which then takes the general path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParsePlainInteger(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        var negative = !text.IsEmpty && text[0] == '-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits.Length > 18) return false;
        // Two digits per step halves the multiply-add chain that bounds this loop.
        long result = 0;
        var i = 0;
        if ((digits.Length & 1) != 0)
        {
            result = (uint)(digits[0] - '0');
            if (result > 9) return false;
            i = 1;
        }
        for (; i < digits.Length; i += 2)
        {
            var high = (uint)(digits[i] - '0');
            var low = (uint)(digits[i + 1] - '0');
            if (high > 9 || low > 9) return false;
            result = result * 100 + high * 10 + low;
        }
        value = negative ? -result : result;
        return true;
    }

    /// <summary>True when <paramref name="text"/> starts with a digit, or a sign or point and a digit: never white space
    /// or one of the words a float parser also accepts (NaN, Infinity), which null tokens may be.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool StartsLikeNumber(ReadOnlySpan<char> text) =>
        text.Length > 0 && (char.IsAsciiDigit(text[0]) || (text.Length > 1 && text[0] is '-' or '.' or '+' && char.IsAsciiDigit(text[1])));

    /// <summary>Integers written in exponent or decimal form by other tools (R writes 100000 as <c>1e+05</c>, pandas
    /// writes <c>3.0</c>): accepted when the value is whole and exactly representable.</summary>
    public static bool TryParseIntegralDouble(ReadOnlySpan<char> text, long min, long max, out long value)
    {
        value = 0;
        if (!double.TryParse(text, FloatStyle, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d) || d != Math.Floor(d) || d < min || d > max)
            return false;
        value = (long)d;
        return true;
    }

    public static bool TryParseBool(ReadOnlySpan<char> text, out bool value)
    {
        if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text is "1" || text.Equals("yes", StringComparison.OrdinalIgnoreCase)
            || text.Equals("y", StringComparison.OrdinalIgnoreCase) || text.Equals("t", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }
        value = false;
        return text.Equals("false", StringComparison.OrdinalIgnoreCase) || text is "0" || text.Equals("no", StringComparison.OrdinalIgnoreCase)
            || text.Equals("n", StringComparison.OrdinalIgnoreCase) || text.Equals("f", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>ISO 8601 and similar invariant date-times; text without an offset is taken as UTC.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out long micros)
    {
        // A bare number is not a timestamp: without this, "2013" or "12" would parse as dates during inference.
        if (text.Length < 8 || !char.IsDigit(text[0]) || text.IndexOfAny('-', '/', 'T') < 0)
        {
            micros = 0;
            return false;
        }
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var value))
        {
            micros = 0;
            return false;
        }
        micros = ToMicros(value);
        return true;
    }

    public static long ToMicros(DateTimeOffset value) => (value.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;

    public static long ToMicros(DateTime value) =>
        ((value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value).Ticks - DateTime.UnixEpoch.Ticks) / 10;

    public static DateTime FromMicros(long micros) => new(DateTime.UnixEpoch.Ticks + micros * 10, DateTimeKind.Utc);
}
