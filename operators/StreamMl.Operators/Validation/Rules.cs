using System.Globalization;
using System.Text.RegularExpressions;
using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>The column must exist, and (unless <c>allowNull</c>) every row must have a value.</summary>
public sealed class RequiredRule(string column, RuleAction action = RuleAction.Reject) : ValidationRule("required", column, action)
{
    private int _index;

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _index = input.Require(Column);
        return input;
    }

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var column = batch[_index];
        if (!column.MayHaveNulls) return;
        for (var row = 0; row < batch.Length; row++)
            if (batch.Selection.IsSelected(row) && !column.IsValid(row))
                Fail(batch, row, context, column, "is missing (null or a null token)");
    }
}

/// <summary>Numeric values must lie in [<c>min</c>, <c>max</c>]; with <see cref="RuleAction.Clip"/> out-of-range values
/// are moved to the bound (clipping outliers). NaN breaks the rule.</summary>
public sealed class RangeRule(string column, double min, double max, RuleAction action = RuleAction.Reject) : ValidationRule(action == RuleAction.Clip ? "clip" : "range", column, action)
{
    private int _index;

    /// <summary>Lower bound (inclusive).</summary>
    public double Min { get; } = min;

    /// <summary>Upper bound (inclusive).</summary>
    public double Max { get; } = max;

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _index = input.Require(Column);
        if (!ColumnTypes.IsNumeric(input[_index].Type) || input[_index].Type == ColumnType.Timestamp)
            throw new SchemaMismatchException($"range rule: column '{Column}' is {ColumnTypes.Name(input[_index].Type)}, not a number");
        if (!(Min <= Max)) throw new SchemaMismatchException($"range rule on '{Column}': min {Min} is above max {Max}");
        return input;
    }

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var column = batch[_index];
        switch (column.Type)
        {
            case ColumnType.Float32: Check(batch, context, column, column.Values<float>()); break;
            case ColumnType.Float64: Check(batch, context, column, column.Values<double>()); break;
            case ColumnType.Int32: Check(batch, context, column, column.Values<int>()); break;
            default: Check(batch, context, column, column.Values<long>()); break;
        }
    }

    private void Check<T>(ColumnBatch batch, StageContext context, Column column, Span<T> values) where T : unmanaged, System.Numerics.INumber<T>
    {
        var all = batch.Selection.AllSelected && !column.MayHaveNulls;
        var min = Min;
        var max = Max;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!all && (!batch.Selection.IsSelected(row) || !column.IsValid(row))) continue;
            var value = double.CreateTruncating(values[row]);
            if (value >= min && value <= max) continue;
            if (Action == RuleAction.Clip && !double.IsNaN(value))
            {
                values[row] = T.CreateSaturating(value < min ? min : max);
                Counts.Changed++;
                continue;
            }
            Fail(batch, row, context, column, string.Create(CultureInfo.InvariantCulture, $"{value} is outside [{min}, {max}]"));
        }
    }
}

/// <summary>A rule over a string column that judges each distinct value once per batch (the dictionary is per batch),
/// then acts on every selected, non-null row whose value was judged.</summary>
public abstract class CategoryRule(string kind, string column, RuleAction action) : ValidationRule(kind, column, action)
{
    private int _index;
    private bool[] _codeHits = new bool[64];

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _index = input.Require(Column, ColumnType.String);
        return input;
    }

    /// <summary>True when rows holding <paramref name="value"/> need <see cref="OnHit"/>.</summary>
    protected abstract bool IsHit(string value);

    /// <summary>Acts on a row whose value <see cref="IsHit"/> chose.</summary>
    protected abstract void OnHit(ColumnBatch batch, int row, StageContext context, Column column, string value);

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var column = batch[_index];
        var dictionary = column.Dictionary!;
        if (_codeHits.Length < dictionary.Count) _codeHits = new bool[Math.Max(dictionary.Count, _codeHits.Length * 2)];
        for (var code = 0; code < dictionary.Count; code++) _codeHits[code] = IsHit(dictionary[code]);
        var codes = column.Values<int>();
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !column.IsValid(row) || !_codeHits[codes[row]]) continue;
            OnHit(batch, row, context, column, dictionary[codes[row]]);
        }
    }
}

/// <summary>String values must be one of a set of categories.</summary>
public sealed class AllowedValuesRule(string column, IEnumerable<string> allowed, RuleAction action = RuleAction.Reject) : CategoryRule("allowed", column, action)
{
    private readonly HashSet<string> _allowed = new(allowed, StringComparer.Ordinal);

    /// <inheritdoc/>
    protected override bool IsHit(string value) => !_allowed.Contains(value);

    /// <inheritdoc/>
    protected override void OnHit(ColumnBatch batch, int row, StageContext context, Column column, string value) =>
        Fail(batch, row, context, column, $"'{value}' is not one of the allowed values ({string.Join(", ", _allowed.Order(StringComparer.Ordinal))})");
}

/// <summary>String values must match a regular expression (the whole value, unless the pattern says otherwise).</summary>
public sealed class PatternRule(string column, string pattern, RuleAction action = RuleAction.Reject) : CategoryRule("pattern", column, action)
{
    private readonly Regex _regex = new(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    /// <summary>The pattern.</summary>
    public string Pattern { get; } = pattern;

    /// <inheritdoc/>
    protected override bool IsHit(string value) => !_regex.IsMatch(value);

    /// <inheritdoc/>
    protected override void OnHit(ColumnBatch batch, int row, StageContext context, Column column, string value) =>
        Fail(batch, row, context, column, $"'{value}' does not match /{Pattern}/");
}

/// <summary>String values that are null tokens ("na", "NA", "", "NaN", white space, ...) become null. Sources already
/// do this for the columns they parse; this rule cleans string columns that arrive from elsewhere.</summary>
public sealed class NullTokensRule : CategoryRule
{
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _tokens;

    /// <summary>Null tokens default to: empty, na, NA, N/A, n/a, NaN, nan, null, NULL, None.</summary>
    public NullTokensRule(string column, IEnumerable<string>? tokens = null) : base("null-tokens", column, RuleAction.Null) =>
        _tokens = new HashSet<string>(tokens ?? ["", "na", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None"], StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();

    /// <inheritdoc/>
    protected override bool IsHit(string value)
    {
        var trimmed = value.AsSpan().Trim();
        return trimmed.IsEmpty || _tokens.Contains(trimmed);
    }

    /// <inheritdoc/>
    protected override void OnHit(ColumnBatch batch, int row, StageContext context, Column column, string value)
    {
        column.SetNull(row);
        Counts.Changed++;
    }
}

/// <summary>Type coercion: parses a string column into a new typed column (invariant culture; integers written as
/// <c>1e+05</c> or <c>3.0</c> are accepted when whole). Text that does not parse breaks the rule.</summary>
public sealed class CoerceRule(string column, string target, ColumnType type, RuleAction action = RuleAction.Reject) : ValidationRule("coerce", column, action)
{
    private int _source;
    private int _target;

    /// <summary>Name of the typed column written.</summary>
    public string Target { get; } = target;

    /// <summary>Its type.</summary>
    public ColumnType Type { get; } = type;

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _source = input.Require(Column, ColumnType.String);
        if (Type == ColumnType.String) throw new SchemaMismatchException($"coerce rule on '{Column}': the target type must not be string");
        var output = input.Add(new Field(Target, Type, true));
        _target = output.IndexOf(Target);
        return output;
    }

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var source = batch[_source];
        var target = batch[_target];
        var dictionary = source.Dictionary!;
        var codes = source.Values<int>();
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            if (!source.IsValid(row))
            {
                target.SetNull(row);
                continue;
            }
            var text = dictionary[codes[row]].AsSpan().Trim();
            if (TryWrite(text, target, row))
            {
                target.SetValid(row);
                continue;
            }
            target.SetNull(row);
            Fail(batch, row, context, target, $"'{dictionary[codes[row]]}' is not a {ColumnTypes.Name(Type)}");
        }
    }

    private static bool TryWrite(ReadOnlySpan<char> text, Column column, int row)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (column.Type)
        {
            case ColumnType.Float32 when float.TryParse(text, NumberStyles.Float, inv, out var f): column.Values<float>()[row] = f; return true;
            case ColumnType.Float64 when double.TryParse(text, NumberStyles.Float, inv, out var d): column.Values<double>()[row] = d; return true;
            case ColumnType.Int32 when WholeNumber(text, int.MinValue, int.MaxValue, out var i): column.Values<int>()[row] = (int)i; return true;
            case ColumnType.Int64 when WholeNumber(text, long.MinValue, long.MaxValue, out var l): column.Values<long>()[row] = l; return true;
            case ColumnType.Bool when bool.TryParse(text, out var b): column.Values<byte>()[row] = b ? (byte)1 : (byte)0; return true;
            case ColumnType.Bool when text is "0" or "1": column.Values<byte>()[row] = text is "1" ? (byte)1 : (byte)0; return true;
            case ColumnType.Timestamp when DateTimeOffset.TryParse(text, inv, DateTimeStyles.AssumeUniversal, out var t):
                column.Values<long>()[row] = (t.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
                return true;
            default: return false;
        }
    }

    private static bool WholeNumber(ReadOnlySpan<char> text, long min, long max, out long value)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value)) return value >= min && value <= max;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && d == Math.Floor(d)
            && d >= min && d <= max && Math.Abs(d) <= 9_007_199_254_740_992d)
        {
            value = (long)d;
            return true;
        }
        return false;
    }
}

/// <summary>Rejects a row whose key was already seen among the previous <c>windowRows</c> accepted rows (or within
/// <c>window</c> of event time, when given). Keys are a column's values (strings, integers, or numbers by bits).</summary>
public sealed class DuplicateKeyRule : ValidationRule
{
    private readonly int _windowRows;
    private readonly long _windowMicros;
    private readonly Dictionary<string, long> _lastByText = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _lastByNumber = [];
    private readonly Queue<(string? Text, long Number, long Seen)> _order = new();
    private long _position;
    private int _index;

    /// <summary>Creates the rule; <paramref name="windowRows"/> bounds memory (default 100,000 keys).</summary>
    public DuplicateKeyRule(string column, int windowRows = 100_000, TimeSpan? window = null, RuleAction action = RuleAction.Reject)
        : base("duplicate", column, action)
    {
        _windowRows = Math.Max(1, windowRows);
        _windowMicros = window is { } w ? w.Ticks / 10 : 0;
    }

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _index = input.Require(Column);
        return input;
    }

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var column = batch[_index];
        var times = batch.EventTimes;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !column.IsValid(row)) continue;
            var stamp = _windowMicros > 0 ? times[row] : _position;
            Evict(stamp);
            string? text = null;
            long number = 0;
            bool seen;
            if (column.Type == ColumnType.String)
            {
                text = column.Dictionary![column.Values<int>()[row]];
                seen = _lastByText.ContainsKey(text);
            }
            else
            {
                number = KeyOf(column, row);
                seen = _lastByNumber.ContainsKey(number);
            }
            if (seen)
            {
                Fail(batch, row, context, column, $"key {(text ?? number.ToString(CultureInfo.InvariantCulture))} already appeared in the window");
                continue;
            }
            if (text is not null) _lastByText[text] = stamp; else _lastByNumber[number] = stamp;
            _order.Enqueue((text, number, stamp));
            _position++;
        }
    }

    private void Evict(long now)
    {
        while (_order.Count > 0)
        {
            var (text, number, seen) = _order.Peek();
            var expired = _windowMicros > 0 ? now - seen >= _windowMicros : _order.Count >= _windowRows;
            if (!expired) break;
            _order.Dequeue();
            if (text is not null) _lastByText.Remove(text); else _lastByNumber.Remove(number);
        }
    }

    private static long KeyOf(Column column, int row) => column.Type switch
    {
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Float32 => BitConverter.SingleToInt32Bits(column.Values<float>()[row]),
        ColumnType.Float64 => BitConverter.DoubleToInt64Bits(column.Values<double>()[row]),
        ColumnType.Bool => column.Values<byte>()[row],
        _ => column.Values<long>()[row],
    };
}

/// <summary>Replaces nulls by a value: a constant, or one fitted on a profile (<see cref="DataProfile"/>).</summary>
public sealed class ImputeRule : ValidationRule
{
    private int _index;
    private string? _text;

    /// <summary>Imputes <paramref name="value"/> (a number, or text for string columns).</summary>
    public ImputeRule(string column, ImputeStrategy strategy, double value, string? text = null) : base("impute", column, RuleAction.Null)
    {
        Strategy = strategy;
        Value = value;
        _text = text;
    }

    /// <summary>An imputer whose value is fitted on <paramref name="profile"/> with <paramref name="strategy"/>.</summary>
    public static ImputeRule Fit(string column, ImputeStrategy strategy, DataProfile profile)
    {
        var p = profile.Column(column);
        if (strategy == ImputeStrategy.Constant) throw new ArgumentException("a constant imputer needs its value: use the constructor", nameof(strategy));
        if (p.NonNull == 0) throw new SchemaMismatchException($"cannot fit a {strategy} imputer for '{column}': the profile has no value for it");
        return strategy switch
        {
            ImputeStrategy.Mean => new ImputeRule(column, strategy, p.Mean),
            ImputeStrategy.Median => new ImputeRule(column, strategy, p.Median),
            _ => new ImputeRule(column, strategy, p.MostFrequentNumber, p.MostFrequentText),
        };
    }

    /// <summary>How the value was chosen.</summary>
    public ImputeStrategy Strategy { get; }

    /// <summary>The value written into null numeric cells.</summary>
    public double Value { get; }

    /// <summary>The value written into null string cells.</summary>
    public string? Text => _text;

    /// <inheritdoc/>
    public override Schema Bind(Schema input)
    {
        _index = input.Require(Column);
        if (input[_index].Type == ColumnType.String && _text is null)
            throw new SchemaMismatchException($"impute rule: column '{Column}' is a string column; give a text value");
        return input;
    }

    /// <inheritdoc/>
    public override void Apply(ColumnBatch batch, StageContext context)
    {
        var column = batch[_index];
        if (!column.MayHaveNulls) return;
        var code = column.Type == ColumnType.String ? column.Dictionary!.GetOrAdd(_text!) : 0;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || column.IsValid(row)) continue;
            switch (column.Type)
            {
                case ColumnType.Float32: column.Values<float>()[row] = (float)Value; break;
                case ColumnType.Float64: column.Values<double>()[row] = Value; break;
                case ColumnType.Int32: column.Values<int>()[row] = (int)Math.Round(Value); break;
                case ColumnType.Int64 or ColumnType.Timestamp: column.Values<long>()[row] = (long)Math.Round(Value); break;
                case ColumnType.Bool: column.Values<byte>()[row] = Value >= 0.5 ? (byte)1 : (byte)0; break;
                case ColumnType.String: column.Values<int>()[row] = code; break;
            }
            column.SetValid(row);
            Counts.Changed++;
        }
    }
}
