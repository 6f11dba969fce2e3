using StreamMl.Engine.Routing;
using System.Globalization;
using StreamMl.Engine;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>One-hot encoding of a dictionary string column or an integer-coded category column (int32, int64, bool, or
/// float columns holding integer codes).
/// The most frequent training categories (up to <see cref="MaxCategories"/>) get a feature each, named
/// <c>column=value</c>; nulls, rarer and unseen values go to the feature <c>column=&lt;unknown&gt;</c>.</summary>
public sealed class OneHotStep : FeatureStep
{
    /// <summary>Name suffix of the unknown bucket.</summary>
    public const string UnknownName = "<unknown>";

    private int[] _slots = [];
    private int[] _codeMap = new int[64];
    private Dictionary<string, int>? _stringIndex;
    private Dictionary<long, int>? _integerIndex;

    /// <summary>The raw column to encode.</summary>
    public string Column { get; set; } = "";

    /// <summary>Most categories kept (by training frequency). Default 64.</summary>
    public int MaxCategories { get; set; } = 64;

    /// <summary>Fitted categories of a string column, in output order (ordinal string order).</summary>
    public string[]? Categories { get; set; }

    /// <summary>Fitted categories of an integer column, in output order (ascending).</summary>
    public long[]? IntegerCategories { get; set; }

    /// <summary>Width of the encoding: one feature per category plus the unknown bucket.</summary>
    public int Width => (Categories?.Length ?? IntegerCategories?.Length ?? 0) + 1;

    internal override void DeclareInputs(FeatureLayout layout) => layout.UseRaw(Column);

    internal override void Fit(FeatureFrame frame)
    {
        var column = frame.Batch[Column];
        if (column.Type == ColumnType.String)
        {
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            var codes = column.Values<int>()[..frame.Length];
            for (var row = 0; row < codes.Length; row++)
            {
                if (!column.IsValid(row)) continue;
                var value = column.Dictionary![codes[row]];
                counts[value] = counts.GetValueOrDefault(value) + 1;
            }
            Categories = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Take(MaxCategories).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray();
            IntegerCategories = null;
        }
        else
        {
            var counts = new Dictionary<long, long>();
            for (var row = 0; row < frame.Length; row++)
            {
                if (!column.IsValid(row)) continue;
                var value = ReadInteger(column, row);
                counts[value] = counts.GetValueOrDefault(value) + 1;
            }
            IntegerCategories = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
                .Take(MaxCategories).Select(kv => kv.Key).Order().ToArray();
            Categories = null;
        }
    }

    internal override void DeclareOutputs(FeatureLayout layout)
    {
        if (Categories is null && IntegerCategories is null)
            throw new FeaturePipelineException($"OneHot({Column}) is not fitted: it has no categories");
        _slots = new int[Width];
        var i = 0;
        if (Categories is not null)
        {
            _stringIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var c in Categories) { _stringIndex.Add(c, i); _slots[i++] = layout.Add($"{Column}={c}"); }
        }
        else
        {
            _integerIndex = [];
            foreach (var c in IntegerCategories!)
            {
                _integerIndex.Add(c, i);
                _slots[i++] = layout.Add($"{Column}={c.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        _slots[i] = layout.Add($"{Column}={UnknownName}");
    }

    internal override void Apply(FeatureFrame frame)
    {
        foreach (var slot in _slots) frame.Write(slot).Clear();
        var column = frame.Batch[Column];
        var unknown = _slots.Length - 1;
        if (column.Type == ColumnType.String)
        {
            if (_stringIndex is null)
                throw new FeaturePipelineException($"OneHot({Column}) was fitted on integer categories but the column is a string column");
            // Map each dictionary code once per batch: a dictionary has at most as many entries as the batch has rows.
            var dictionary = column.Dictionary!;
            if (_codeMap.Length < dictionary.Count) _codeMap = new int[Math.Max(dictionary.Count, _codeMap.Length * 2)];
            for (var code = 0; code < dictionary.Count; code++)
                _codeMap[code] = _slots[_stringIndex.GetValueOrDefault(dictionary[code], unknown)];
            var codes = column.Values<int>();
            var nullable = column.MayHaveNulls;
            for (var row = 0; row < frame.Length; row++)
            {
                var slot = nullable && !column.IsValid(row) ? _slots[unknown] : _codeMap[codes[row]];
                frame.Slot(slot)[row] = 1f;
            }
        }
        else
        {
            if (_integerIndex is null)
                throw new FeaturePipelineException($"OneHot({Column}) was fitted on string categories but the column is {ColumnTypes.Name(column.Type)}");
            for (var row = 0; row < frame.Length; row++)
            {
                var index = column.IsValid(row) ? _integerIndex.GetValueOrDefault(ReadInteger(column, row), unknown) : unknown;
                frame.Slot(_slots[index])[row] = 1f;
            }
        }
    }

    internal static long ReadInteger(Column column, int row) => column.Type switch
    {
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Int64 or ColumnType.Timestamp => column.Values<long>()[row],
        ColumnType.Bool => column.Values<byte>()[row],
        // Integer codes often arrive as floats (CSV readers, Parquet doubles); the fraction is dropped.
        ColumnType.Float64 => (long)column.Values<double>()[row],
        ColumnType.Float32 => (long)column.Values<float>()[row],
        _ => throw new FeaturePipelineException(
            $"column '{column.Field.Name}' is {ColumnTypes.Name(column.Type)}; categories must be string, int32, int64, bool or integer-valued floats"),
    };

    /// <inheritdoc/>
    public override string ToString() => $"OneHot({Column})";
}

/// <summary>Feature hashing: each string or integer value adds 1 to bucket hash(value) mod <see cref="Buckets"/>;
/// the features are named <c>column#0</c> .. <c>column#(Buckets-1)</c>. The hash is 32-bit FNV-1a over the UTF-16
/// code units (or the 8 little-endian bytes of an integer), so it is the same in every process. Nulls hash nowhere.</summary>
public sealed class HashStep : FeatureStep
{
    private int[] _slots = [];
    private int[] _codeMap = new int[64];

    /// <summary>The raw column to hash.</summary>
    public string Column { get; set; } = "";

    /// <summary>Number of buckets. Default 32.</summary>
    public int Buckets { get; set; } = 32;

    internal override void DeclareInputs(FeatureLayout layout) => layout.UseRaw(Column);

    internal override void DeclareOutputs(FeatureLayout layout)
    {
        if (Buckets < 1) throw new FeaturePipelineException($"Hash({Column}) needs at least one bucket, got {Buckets}");
        _slots = new int[Buckets];
        for (var i = 0; i < Buckets; i++) _slots[i] = layout.Add($"{Column}#{i}");
    }

    internal override void Apply(FeatureFrame frame)
    {
        foreach (var slot in _slots) frame.Write(slot).Clear();
        var column = frame.Batch[Column];
        if (column.Type == ColumnType.String)
        {
            var dictionary = column.Dictionary!;
            if (_codeMap.Length < dictionary.Count) _codeMap = new int[Math.Max(dictionary.Count, _codeMap.Length * 2)];
            for (var code = 0; code < dictionary.Count; code++)
                _codeMap[code] = _slots[(int)(TrafficSplit.Fnv1a(dictionary[code]) % (uint)Buckets)];
            var codes = column.Values<int>();
            for (var row = 0; row < frame.Length; row++)
                if (column.IsValid(row)) frame.Slot(_codeMap[codes[row]])[row] += 1f;
        }
        else
        {
            for (var row = 0; row < frame.Length; row++)
            {
                if (!column.IsValid(row)) continue;
                var bucket = TrafficSplit.Fnv1a(OneHotStep.ReadInteger(column, row)) % (uint)Buckets;
                frame.Slot(_slots[bucket])[row] += 1f;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Hash({Column}, {Buckets})";
}
