using System.Numerics;
using System.Runtime.CompilerServices;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>The common shapes of numbers in a CSV file, parsed straight from UTF-8 bytes while the field is scanned:
/// an optional minus sign and digits, with a fraction (<c>12.5</c>) for floats and a positive exponent (<c>2e+05</c>,
/// as R writes 200000) for integers. Each parser stops at the first byte that is not part of that shape and returns
/// where, so the caller checks the byte there (a separator or a line break) and takes the general parser
/// (<see cref="FieldParser"/>) for anything else. Every value returned equals <c>long.Parse</c>/<c>double.Parse</c>/
/// <c>float.Parse</c> of the same text bit for bit (<c>Utf8NumberTests</c>): decimals are taken only when the digits
/// and the power of ten are both exact in the type, so one correctly rounded division gives the correctly rounded
/// value (Clinger's fast path); longer mantissas go to the general parser.</summary>
internal static unsafe class Utf8Numbers
{
    /// <summary>Digits whose value is exact in a double (10^15 &lt; 2^53) and in a float (10^7 &lt; 2^24).</summary>
    public const int MaxDoubleDigits = 15;
    public const int MaxFloatDigits = 7;

    private static readonly double[] s_doublePowers =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    private static readonly float[] s_floatPowers = [1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f];

    private static readonly long[] s_longPowers =
        [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000,
         1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000];

    /// <summary>An integer at <paramref name="p"/>: <c>-?[0-9]{1,18}</c>, optionally followed by <c>e</c>/<c>E</c>, an
    /// optional <c>+</c> and one or two digits when the value stays within ±2^53 (what the general parser accepts as an
    /// integer written in exponent form). Returns the byte after it, or null when the text there is not of this shape.</summary>
    /// <remarks>Reads up to 7 bytes past the number's end (the caller's buffer has them). Eight bytes at a time
    /// (SWAR): the digits' count from the first byte that is not one, their value from three multiplications; a byte
    /// loop took a mispredicted branch at the end of every field, whose lengths vary (CsvSourceBenchmarks).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* TryParseInt64(byte* p, out long value)
    {
        var negative = *p == (byte)'-';
        if (negative) p++;
        ulong result = 0;
        var digits = 0;
        while (true)
        {
            var word = Unsafe.ReadUnaligned<ulong>(p);
            var count = DigitCount(word);
            if (count > 0)
            {
                result = result * (ulong)s_longPowers[count] + EightDigits(word << (8 * (8 - count)));
                digits += count;
                p += count;
            }
            if (count < 8 || digits > 18) break;
        }
        value = 0;
        if (digits is 0 or > 18) return null;
        if ((*p | 0x20) == 'e') p = ScaleByExponent(p, ref result);
        if (p is null) return null;
        value = negative ? -(long)result : (long)result;
        return p;
    }

    /// <summary>How many of the word's bytes, from the first (lowest), are ASCII digits. A byte is a digit when its
    /// high nibble is 3 and adding 6 keeps it 3; the additions cannot carry out of a digit byte, so the bytes before the
    /// first non-digit are judged right whatever follows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DigitCount(ulong word)
    {
        const ulong High = 0xF0F0F0F0F0F0F0F0, Threes = 0x3030303030303030;
        var notDigit = ((word & High) ^ Threes) | (((word + 0x0606060606060606) & High) ^ Threes);
        return notDigit == 0 ? 8 : BitOperations.TrailingZeroCount(notDigit) >> 3;
    }

    /// <summary>The value of eight ASCII digits (or zero bytes before them, read as zeros), first digit in the lowest
    /// byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightDigits(ulong word)
    {
        word = (word & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8;
        word = (word & 0x00FF00FF00FF00FF) * 6553601 >> 16;
        return (word & 0x0000FFFF0000FFFF) * 42949672960001 >> 32;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* ScaleByExponent(byte* p, ref ulong result)
    {
        p++;
        if (*p == (byte)'+') p++;
        var first = (uint)(*p - '0');
        if (first > 9) return null;
        p++;
        var exponent = (int)first;
        var second = (uint)(*p - '0');
        if (second <= 9)
        {
            exponent = exponent * 10 + (int)second;
            p++;
        }
        if ((uint)(*p - '0') <= 9 || exponent >= s_longPowers.Length) return null;
        if (result > (ulong)(FieldParser.MaxExactDoubleInteger / s_longPowers[exponent])) return null;
        result *= (ulong)s_longPowers[exponent];
        return p;
    }

    /// <summary>A decimal at <paramref name="p"/>: <c>-?[0-9]+(\.[0-9]+)?</c> with at most
    /// <paramref name="maxDigits"/> digits in all. Returns the byte after it (or null) and the digits as an integer with
    /// the count of fraction digits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* TryParseDecimal(byte* p, int maxDigits, out bool negative, out ulong mantissa, out int fraction)
    {
        negative = *p == (byte)'-';
        if (negative) p++;
        var start = p;
        ulong result = 0;
        uint digit;
        while ((digit = (uint)(*p - '0')) <= 9)
        {
            result = result * 10 + digit;
            p++;
        }
        var whole = p - start;
        fraction = 0;
        mantissa = 0;
        if (whole == 0) return null;
        if (*p == (byte)'.')
        {
            p++;
            var fractionStart = p;
            while ((digit = (uint)(*p - '0')) <= 9)
            {
                result = result * 10 + digit;
                p++;
            }
            fraction = (int)(p - fractionStart);
            if (fraction == 0) return null;
        }
        if (whole + fraction > maxDigits) return null;
        mantissa = result;
        return p;
    }

    /// <summary>A decimal of at most 15 digits as a double, correctly rounded; null for anything else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* TryParseDouble(byte* p, out double value)
    {
        p = TryParseDecimal(p, MaxDoubleDigits, out var negative, out var mantissa, out var fraction);
        value = 0;
        if (p is null) return null;
        var result = (double)mantissa / s_doublePowers[fraction];
        value = negative ? -result : result;
        return p;
    }

    /// <summary>A decimal of at most 7 digits as a float, correctly rounded; null for anything else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* TryParseSingle(byte* p, out float value)
    {
        p = TryParseDecimal(p, MaxFloatDigits, out var negative, out var mantissa, out var fraction);
        value = 0;
        if (p is null) return null;
        // fraction ≤ 7 here (it is at most the digit count), within the exact powers.
        var result = (float)mantissa / s_floatPowers[fraction];
        value = negative ? -result : result;
        return p;
    }
}
