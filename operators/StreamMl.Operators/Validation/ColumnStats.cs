using System.Numerics;
using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>Running statistics of one column: count, nulls, min, max, mean and distinct values (exact up to
/// <see cref="ExactDistinctLimit"/> values, then a HyperLogLog estimate). With <c>keepValues</c> it also keeps the
/// values (up to a cap) for the median and the most frequent value, which imputers are fitted on.</summary>
public sealed class ColumnStats
{
    /// <summary>Distinct values counted exactly before switching to the estimate.</summary>
    public const int ExactDistinctLimit = 10_000;

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

    /// <summary>Distinct non-null values: exact, or a HyperLogLog estimate (about 1.6% error) past the limit.</summary>
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
                    AddHash((ulong)(uint)text.GetHashCode());
                    if (_exact && _strings.Add(text) && _strings.Count > ExactDistinctLimit) _exact = false;
                }
                break;
            }
            default: AddNumbers(batch, column, column.Values<long>()); break;
        }
    }

    private void AddNumbers<T>(ColumnBatch batch, Column column, Span<T> values) where T : unmanaged, INumber<T>
    {
        var selection = batch.Selection;
        var dense = selection.AllSelected && !column.MayHaveNulls;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!dense)
            {
                if (!selection.IsSelected(row)) continue;
                if (!column.IsValid(row))
                {
                    Count++;
                    Nulls++;
                    continue;
                }
            }
            Count++;
            var value = double.CreateTruncating(values[row]);
            if (double.IsNaN(value)) { Nulls++; continue; }
            if (value < _min) _min = value;
            if (value > _max) _max = value;
            _sum += value;
            var bits = BitConverter.DoubleToInt64Bits(value == 0 ? 0 : value);
            AddHash((ulong)bits);
            if (_exact && _numbers.Add(bits) && _numbers.Count > ExactDistinctLimit) _exact = false;
            if (_keepValues && _values.Count < _valueCap) _values.Add(value);
        }
    }

    private void AddHash(ulong value)
    {
        var z = value + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        var index = (int)(z >> (64 - RegisterBits));
        var rank = (byte)(BitOperations.LeadingZeroCount((z << RegisterBits) | (1UL << (RegisterBits - 1))) + 1);
        if (rank > _registers[index]) _registers[index] = rank;
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
