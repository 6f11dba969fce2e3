using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Connectors.Files.Internal;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>The byte reader's number parsers against .NET's own (<c>long.Parse</c>, <c>double.Parse</c>,
/// <c>float.Parse</c> with the invariant culture) bit for bit, on random and edge-case fields: whatever the fast path
/// accepts must equal the general parser's value, and the common shapes must be accepted (else the test would pass with
/// a parser that accepts nothing).</summary>
public sealed unsafe class Utf8NumberTests
{
    private static readonly string[] s_edges =
    [
        "0", "-0", "00", "007", "-007", "1", "-1", "9", "10", "99", "123456789012345678", "-123456789012345678",
        "1234567890123456789", "9223372036854775807", "0.0", "-0.0", "0.5", ".5", "5.", "1.25", "-1.25", "0.1", "0.2", "0.3",
        "123456789012345", "12345678901234.5", "1234567890123456", "0.123456789012345", "0.000000000000001",
        "9007199254740993", "2e+05", "1e+05", "5E+05", "1e5", "1e05", "-2e+05", "1e+15", "9e+15", "1e+16", "1e-05", "1.5e+05",
        "2e+005", "2e", "2e+", "-", "+1", " 1", "1 ", "", "1,5", "1.2.3", "0x10", "NaN", "Infinity", "1_000", "3.4028235",
        "16777217", "1677721.7", "8388609", "0.1000001", "9999999", "9999999.", "-9.999999", "1234567.8",
    ];

    /// <summary>Parses <paramref name="text"/> with <paramref name="parse"/> the way the reader does: the field
    /// followed by a separator (and digits after it, which the word-at-a-time parser reads and must ignore); the value
    /// counts only when the parser stopped exactly at the separator.</summary>
    private static bool Fast<T>(string text, Func<nint, (nint After, T Value)> parse, out T value)
    {
        var bytes = Encoding.ASCII.GetBytes(text + ",99999999");
        fixed (byte* start = bytes)
        {
            var (after, parsed) = parse((nint)start);
            value = parsed;
            return after != 0 && after == (nint)(start + text.Length);
        }
    }

    private static (nint, long) Int64(nint p) => ((nint)Utf8Numbers.TryParseInt64((byte*)p, out var v), v);
    private static (nint, double) Double(nint p) => ((nint)Utf8Numbers.TryParseDouble((byte*)p, out var v), v);
    private static (nint, float) Single(nint p) => ((nint)Utf8Numbers.TryParseSingle((byte*)p, out var v), v);

    /// <summary>The general path's integer: <c>long.Parse</c>, or a whole double within ±2^53 (<c>2e+05</c>).</summary>
    private static bool ReferenceInt64(string text, out long value)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value)) return true;
        return FieldParser.TryParseIntegralDouble(text, -FieldParser.MaxExactDoubleInteger, FieldParser.MaxExactDoubleInteger, out value);
    }

    private static void AssertAgrees(string text)
    {
        if (Fast(text, Int64, out long l))
        {
            Assert.True(ReferenceInt64(text, out var expected), $"'{text}' read as {l}, the general parser refuses it");
            Assert.Equal(expected, l);
        }
        if (Fast(text, Double, out double d))
        {
            Assert.True(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var expected), $"'{text}' read as {d}");
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(d));
        }
        if (Fast(text, Single, out float f))
        {
            Assert.True(float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var expected), $"'{text}' read as {f}");
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(f));
        }
    }

    [Fact]
    public void Edge_cases_agree_with_the_general_parsers()
    {
        foreach (var text in s_edges) AssertAgrees(text);
        // The shapes the fast path exists for are taken by it.
        foreach (var text in new[] { "0", "-7", "123456789012345678", "2e+05", "1e5", "-0.0", "1.25", "123456789012345" })
            Assert.True(Fast(text, Int64, out long _) || Fast(text, Double, out double _), text);
        Assert.True(Fast("0.12345678901234", Double, out double _));
        Assert.True(Fast("1234567.8", Double, out double _));
        Assert.True(Fast("-9.999999", Single, out float _));
        // And the ones it leaves to the general parser are left.
        foreach (var text in new[] { "1234567890123456789", "1e-05", "1.5e+05", "+1", " 1", "1e+16", "9007199254740993e0", "2e+005" })
            Assert.False(Fast(text, Int64, out long _), text);
        foreach (var text in new[] { ".5", "5.", "+1", " 1", "1e5", "0.0000000000000001", "1234567890123456" })
            Assert.False(Fast(text, Double, out double _), text);
        Assert.False(Fast("16777217", Single, out float _));
    }

    private static Gen<string> Digits(int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements("0123456789".ToCharArray()), n)).Select(c => new string(c));

    /// <summary>Fields shaped like numbers: sign, up to 20 whole digits, an optional fraction of up to 20 digits, an
    /// optional exponent; and now and then a stray character.</summary>
    private static Arbitrary<string> NumberFields() =>
        (from sign in Gen.Elements("", "-", "+")
         from whole in Digits(0, 20)
         from hasFraction in Gen.Elements(false, true)
         from fraction in Digits(0, 20)
         from exponent in Gen.Elements("", "", "", "e+05", "E+1", "e5", "e-2", "e+15", "e+16", "e+123")
         from stray in Gen.Elements("", "", "", "", " ", "x", ".", ",")
         select sign + whole + (hasFraction ? "." + fraction : "") + exponent + stray).ToArbitrary();

    [Property(MaxTest = 3000)]
    public Property Random_number_fields_agree_with_the_general_parsers() =>
        Prop.ForAll(NumberFields(), text =>
        {
            AssertAgrees(text);
            return true;
        });

    [Property(MaxTest = 3000)]
    public Property Short_decimals_are_read_by_the_fast_path_and_round_correctly(ulong mantissa, byte length, byte scale, bool negative)
    {
        // 1 to 15 digits with a point anywhere after the first: every one is taken by the fast path and equals double.Parse.
        var digits = (mantissa % 1_000_000_000_000_000).ToString("D15", CultureInfo.InvariantCulture)[..(1 + length % 15)];
        var fraction = scale % digits.Length;
        var text = (negative ? "-" : "") + (fraction == 0 ? digits : digits[..^fraction] + "." + digits[^fraction..]);
        Assert.True(Fast(text, Double, out double d), text);
        Assert.Equal(BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture)), BitConverter.DoubleToInt64Bits(d));
        if (digits.Length <= Utf8Numbers.MaxFloatDigits)
        {
            Assert.True(Fast(text, Single, out float f), text);
            Assert.Equal(BitConverter.SingleToInt32Bits(float.Parse(text, CultureInfo.InvariantCulture)), BitConverter.SingleToInt32Bits(f));
        }
        return true.ToProperty();
    }
}
