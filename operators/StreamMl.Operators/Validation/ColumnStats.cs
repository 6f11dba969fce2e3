using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>Running statistics of one column: count, nulls, min, max, mean and distinct values (exact up to
/// <see cref="ExactDistinctLimit"/> values, then a HyperLogLog estimate with a standard error of about 1.6 %). With
/// <c>keepValues</c> it also keeps the values (up to a cap) for the median and the most frequent value, which imputers
/// are fitted on.</summary>
public sealed class ColumnStats
{
    /// <summary>Distinct values counted exactly before switching to the estimate. Exact counting of up to 10,000 values
    /// per column made the profile cost more than parsing the credit file (24 ms against 14 ms, 25 columns of 30,000
    /// rows, see docs/BENCHMARKS.md); a set this small stays in the L1/L2 cache and still counts categories exactly.</summary>
    public const int ExactDistinctLimit = 1_024;

    // NaN never reaches the distinct counters (it counts as missing), so its bits mark "no previous value".
    private static readonly long s_noPrevious = BitConverter.DoubleToInt64Bits(double.NaN);
    private long _previousBits = s_noPrevious;

    private const int RegisterBits = 12;
    private readonly byte[] _registers = new byte[1 << RegisterBits];
    private readonly LongSet _numbers = new();
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly bool _keepValues;
    private readonly int _valueCap;
    private readonly List<double> _values = [];
    private readonly Dictionary<string, long> _textCounts = new(StringComparer.Ordinal);
    private bool[] _codeSeen = new bool[64];
    private bool _exact = true;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private double _sum;

    /// <summary>Creates statistics for <paramref name="field"/>.</summary>
    public ColumnStats(Field field, bool keepValues = false, int valueCap = 1_000_000)
    {
        Field = field;
        _keepValues = keepValues;
        _valueCap = valueCap;
    }

    /// <summary>The column.</summary>
    public Field Field { get; }

    /// <summary>Rows seen.</summary>
    public long Count { get; private set; }

    /// <summary>Null rows seen.</summary>
    public long Nulls { get; private set; }

    /// <summary>Rows with a value.</summary>
    public long NonNull => Count - Nulls;

    /// <summary>Share of null rows (0 when no row was seen).</summary>
    public double MissingRatio => Count == 0 ? 0 : (double)Nulls / Count;

    /// <summary>Smallest numeric value, or null.</summary>
    public double? Min => NonNull > 0 && Field.Type != ColumnType.String ? _min : null;

    /// <summary>Largest numeric value, or null.</summary>
    public double? Max => NonNull > 0 && Field.Type != ColumnType.String ? _max : null;

    /// <summary>Mean of the numeric values (NaN when none).</summary>
    public double Mean => NonNull > 0 && Field.Type != ColumnType.String ? _sum / NonNull : double.NaN;

    /// <summary>True while <see cref="Distinct"/> is exact.</summary>
    public bool DistinctIsExact => _exact;

    /// <summary>Distinct non-null values: exact up to <see cref="ExactDistinctLimit"/>, then a HyperLogLog estimate
    /// (4,096 registers: standard error 1.04/√4096 ≈ 1.6 %).</summary>
    public long Distinct => _exact ? (Field.Type == ColumnType.String ? _strings.Count : _numbers.Count) : Estimate();

    /// <summary>Median of the kept values (needs keepValues).</summary>
    public double Median
    {
        get
        {
            if (_values.Count == 0) return double.NaN;
            var sorted = _values.ToArray();
            Array.Sort(sorted);
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    /// <summary>Most frequent kept numeric value (ties: the smallest); NaN when none.</summary>
    public double MostFrequentNumber => _values.Count == 0 ? double.NaN
        : _values.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;

    /// <summary>Most frequent string (ties: ordinal first); null when none.</summary>
    public string? MostFrequentText => _textCounts.Count == 0 ? null
        : _textCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).First().Key;

    /// <summary>Adds the selected rows of <paramref name="column"/>.</summary>
    public void Add(ColumnBatch batch, Column column)
    {
        var selection = batch.Selection;
        var length = batch.Length;
        switch (column.Type)
        {
            case ColumnType.Float32: AddNumbers(batch, column, column.Values<float>()); break;
            case ColumnType.Float64: AddNumbers(batch, column, column.Values<double>()); break;
            case ColumnType.Int32: AddNumbers(batch, column, column.Values<int>()); break;
            case ColumnType.Bool: AddNumbers(batch, column, column.Values<byte>()); break;
            case ColumnType.String:
            {
                var dictionary = column.Dictionary!;
                if (_codeSeen.Length < dictionary.Count) _codeSeen = new bool[Math.Max(dictionary.Count, _codeSeen.Length * 2)];
                Array.Clear(_codeSeen, 0, dictionary.Count);
                var codes = column.Values<int>();
                for (var row = 0; row < length; row++)
                {
                    if (!selection.IsSelected(row)) continue;
                    Count++;
                    if (!column.IsValid(row)) { Nulls++; continue; }
                    _codeSeen[codes[row]] = true;
                    if (_keepValues)
                    {
                        ref var n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_textCounts, dictionary[codes[row]], out _);
                        n++;
                    }
                }
                for (var code = 0; code < dictionary.Count; code++)
                {
                    if (!_codeSeen[code]) continue;
                    var text = dictionary[code];
                    if (!_exact) AddHash(_registers, StringHash(text));
                    else if (_strings.Add(text) && _strings.Count > ExactDistinctLimit)
                    {
                        // Past the limit: the estimate starts from every value counted so far.
                        _exact = false;
                        foreach (var seen in _strings) AddHash(_registers, StringHash(seen));
                        _strings.Clear();
                    }
                }
                break;
            }
            default: AddNumbers(batch, column, column.Values<long>()); break;
        }
    }

    /// <remarks>The running values live in locals for the loop: as fields, every row stored and reloaded them, and the
    /// dependency through memory cost more than the arithmetic.</remarks>
    private void AddNumbers<T>(ColumnBatch batch, Column column, Span<T> values) where T : unmanaged, INumber<T>
    {
        var selection = batch.Selection;
        var dense = selection.AllSelected && !column.MayHaveNulls;
        if (dense && !_keepValues && typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            AddDenseIntegers<T>(values[..Math.Min(batch.Length, values.Length)]);
            return;
        }
        long count = 0, nulls = 0;
        double min = _min, max = _max, sum = _sum;
        var previous = _previousBits;
        var registers = _registers;
        var length = Math.Min(batch.Length, values.Length);
        for (var row = 0; row < length; row++)
        {
            if (!dense)
            {
                if (!selection.IsSelected(row)) continue;
                if (!column.IsValid(row))
                {
                    count++;
                    nulls++;
                    continue;
                }
            }
            count++;
            var value = double.CreateTruncating(values[row]);
            if (double.IsNaN(value)) { nulls++; continue; }
            if (value < min) min = value;
            if (value > max) max = value;
            sum += value;
            if (_keepValues && _values.Count < _valueCap) _values.Add(value);
            var bits = BitConverter.DoubleToInt64Bits(value == 0 ? 0 : value);
            // Runs of one value (flags, categories, sorted keys) skip the hash: a repeat changes no distinct count.
            if (bits == previous) continue;
            previous = bits;
            if (_exact) AddExact(bits);
            else AddHash(registers, (ulong)bits);
        }
        Count += count;
        Nulls += nulls;
        (_min, _max, _sum, _previousBits) = (min, max, sum, previous);
    }

    /// <summary>The common case, every row selected and valid, and no NaN possible: one tight pass for min, max and
    /// sum, one for the distinct counters. Together they cost a third of the general loop, which ran out of
    /// registers and kept its running values on the stack (seen in the JIT's disassembly).</summary>
    private void AddDenseIntegers<T>(ReadOnlySpan<T> values) where T : unmanaged, INumber<T>
    {
        if (values.IsEmpty) return;
        Count += values.Length;
        _min = Math.Min(_min, double.CreateTruncating(System.Numerics.Tensors.TensorPrimitives.Min(values)));
        _max = Math.Max(_max, double.CreateTruncating(System.Numerics.Tensors.TensorPrimitives.Max(values)));
        _sum += typeof(T) == typeof(long) ? Sum(MemoryMarshal.Cast<T, long>(values)) : SumScalar(values);
        var next = 0;
        if (_exact)
        {
            Span<long> bits = stackalloc long[256];
            while (_exact && next < values.Length)
            {
                var chunk = bits[..Math.Min(bits.Length, values.Length - next)];
                for (var i = 0; i < chunk.Length; i++) chunk[i] = BitConverter.DoubleToInt64Bits(double.CreateTruncating(values[next + i]));
                next += _numbers.AddUntil(chunk, ExactDistinctLimit);
                if (_numbers.Count > ExactDistinctLimit) StartEstimate();
            }
        }
        if (typeof(T) == typeof(long)) AddHashes(_registers, MemoryMarshal.Cast<T, long>(values[next..]));
        else foreach (var value in values[next..]) AddHash(_registers, (ulong)BitConverter.DoubleToInt64Bits(double.CreateTruncating(value)));
    }

    /// <summary>The sum of int64 values as float64, eight lanes at a time where the hardware has 512-bit vectors. Lanes
    /// add in another order than a loop does, which is exact as long as partial sums stay below 2^53.</summary>
    internal static double Sum(ReadOnlySpan<long> values)
    {
        var next = 0;
        var total = 0.0;
        if (Vector512.IsHardwareAccelerated && values.Length >= Vector512<long>.Count)
        {
            var lanes = Vector512<double>.Zero;
            for (; next <= values.Length - Vector512<long>.Count; next += Vector512<long>.Count)
                lanes += Vector512.ConvertToDouble(Vector512.Create(values.Slice(next, Vector512<long>.Count)));
            total = Vector512.Sum(lanes);
        }
        for (; next < values.Length; next++) total += values[next];
        return total;
    }

    private static double SumScalar<T>(ReadOnlySpan<T> values) where T : unmanaged, INumber<T>
    {
        double sum = 0;
        foreach (var value in values) sum += double.CreateTruncating(value);
        return sum;
    }

    /// <summary>Counts a value exactly while under the limit; past it, seeds the estimate with every value counted so
    /// far. Exact counting does not hash into the estimate: most columns (flags, categories, small integers) stay under
    /// the limit, and for them the estimate would be work thrown away.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void AddExact(long bits)
    {
        if (_numbers.Add(bits) && _numbers.Count > ExactDistinctLimit) StartEstimate();
    }

    /// <summary>Past the limit: the estimate starts from every value counted so far.</summary>
    private void StartEstimate()
    {
        _exact = false;
        foreach (var seen in _numbers.Values()) AddHash(_registers, (ulong)seen);
    }

    /// <summary>Adds int64 values (as their float64 bits, like every numeric column) to the estimate; eight at a time
    /// with AVX-512 (the hash, index and rank of <see cref="AddHash"/> in vector registers), which made the profile of
    /// high-cardinality columns about three times faster. Same registers as the scalar path (tested).</summary>
    internal static void AddHashes(byte[] registers, ReadOnlySpan<long> values)
    {
        var next = 0;
        if (Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported && Avx512CD.IsSupported && values.Length >= Vector512<long>.Count)
        {
            Span<ulong> indexes = stackalloc ulong[Vector512<ulong>.Count];
            Span<ulong> ranks = stackalloc ulong[Vector512<ulong>.Count];
            var marker = Vector512.Create(1UL << (RegisterBits - 1));
            for (; next <= values.Length - Vector512<long>.Count; next += Vector512<long>.Count)
            {
                var z = Vector512.ConvertToDouble(Vector512.Create(values.Slice(next, Vector512<long>.Count))).AsUInt64() + Vector512.Create(0x9E3779B97F4A7C15UL);
                z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
                z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
                z ^= Vector512.ShiftRightLogical(z, 31);
                Vector512.ShiftRightLogical(z, 64 - RegisterBits).CopyTo(indexes);
                (Avx512CD.LeadingZeroCount(Vector512.ShiftLeft(z, RegisterBits) | marker) + Vector512<ulong>.One).CopyTo(ranks);
                for (var i = 0; i < indexes.Length; i++)
                {
                    ref var register = ref registers[(int)indexes[i]];
                    register = Math.Max(register, (byte)ranks[i]);
                }
            }
        }
        for (; next < values.Length; next++) AddHash(registers, (ulong)BitConverter.DoubleToInt64Bits(values[next]));
    }

    private static ulong StringHash(string text) => (ulong)(uint)text.GetHashCode();

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void AddHash(byte[] registers, ulong value)
    {
        var z = value + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        var index = (int)(z >> (64 - RegisterBits));
        var rank = (byte)(BitOperations.LeadingZeroCount((z << RegisterBits) | (1UL << (RegisterBits - 1))) + 1);
        ref var register = ref registers[index];
        register = Math.Max(register, rank);
    }

    private long Estimate()
    {
        var m = (double)_registers.Length;
        double sum = 0;
        var zeros = 0;
        foreach (var r in _registers)
        {
            sum += Math.Pow(2, -r);
            if (r == 0) zeros++;
        }
        var estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum;
        if (estimate <= 2.5 * m && zeros > 0) estimate = m * Math.Log(m / zeros);
        return (long)Math.Round(estimate);
    }
}
