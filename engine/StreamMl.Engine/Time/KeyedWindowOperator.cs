namespace StreamMl.Engine.Time;

/// <summary>Aggregates a numeric column per key over event-time windows (count, sum, mean, min, max). A window is
/// emitted once, when the watermark passes its end plus the allowed lateness; a row whose windows have all closed goes
/// to the side output with the reason, never silently dropped. Rows pass through unchanged.</summary>
/// <remarks>Lateness follows Flink's window operator: a row is checked against the watermark that held before its
/// batch (the batch's own watermark covers the rows it carries); for sliding windows a row joins each of its windows
/// that is still open and is late only when none is.</remarks>
public sealed class KeyedWindowOperator : IBatchOperator
{
    private readonly string _keyColumnName;
    private readonly string _valueColumnName;
    private readonly WindowSpec _spec;
    private readonly IWindowOutput _output;
    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private KeyState?[] _stateByCode = new KeyState?[64];
    private readonly List<(long End, KeyState Key, long Start)> _closing = [];
    private readonly Stack<KeyState> _freeStates = new();
    private int _keyColumn = -1;
    private int _valueColumn = -1;
    private ColumnType _valueType;
    private long _watermark = ColumnBatch.NoWatermark;
    private long _earliestOpenEnd = long.MaxValue;

    /// <summary>Creates the operator.</summary>
    /// <param name="keyColumn">A string column (dictionary-encoded) to group by.</param>
    /// <param name="valueColumn">A numeric column to aggregate.</param>
    /// <param name="spec">The windows.</param>
    /// <param name="output">Receives closed windows and late rows.</param>
    /// <param name="name">Stage name.</param>
    public KeyedWindowOperator(string keyColumn, string valueColumn, WindowSpec spec, IWindowOutput output, string? name = null)
    {
        _keyColumnName = keyColumn;
        _valueColumnName = valueColumn;
        _spec = spec;
        _output = output;
        Name = name ?? $"window({keyColumn},{valueColumn})";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The watermark the operator has reached.</summary>
    public long Watermark => _watermark;

    /// <summary>How many keys hold at least one open window. A key's state is released when its last window closes,
    /// so memory follows the keys that are active, not every key ever seen.</summary>
    public int OpenKeyCount => _keys.Count;

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _keyColumn = input.Require(_keyColumnName, ColumnType.String);
        _valueColumn = input.Require(_valueColumnName);
        _valueType = input[_valueColumn].Type;
        if (!ColumnTypes.IsNumeric(_valueType))
            throw new SchemaMismatchException($"window value column '{_valueColumnName}' is {ColumnTypes.Name(_valueType)}; it must be numeric");
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        if (_keyColumn < 0) Bind(batch.Schema);
        var keys = batch[_keyColumn];
        var values = batch[_valueColumn];
        var dictionary = keys.Dictionary!;
        var codes = keys.Values<int>();
        var times = batch.EventTimes;
        if (_stateByCode.Length < dictionary.Count) _stateByCode = new KeyState?[Math.Max(dictionary.Count, _stateByCode.Length * 2)];
        Array.Clear(_stateByCode, 0, dictionary.Count);

        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !keys.IsValid(row) || !values.IsValid(row)) continue;
            var code = codes[row];
            var state = _stateByCode[code] ??= StateFor(dictionary[code]);
            var value = ReadValue(values, row);
            var time = times[row];
            var assigned = false;
            for (var start = _spec.LastWindowStart(time); start > time - _spec.SizeMicros; start -= _spec.SlideMicros)
            {
                var end = start + _spec.SizeMicros;
                if (_spec.IsClosed(end, _watermark)) continue;
                state.Add(start, value);
                if (end < _earliestOpenEnd) _earliestOpenEnd = end;
                assigned = true;
            }
            if (!assigned)
            {
                _output.OnLateRow(new LateRow(state.Key, time, value, _watermark, batch.RowPartitions[row], batch.RowOffsets[row],
                    $"event time {Format(time)} is behind watermark {Format(_watermark)} by more than the allowed lateness of {_spec.LatenessMicros / 1000.0} ms"));
            }
        }

        if (batch.Watermark != ColumnBatch.NoWatermark && batch.Watermark > _watermark)
        {
            _watermark = batch.Watermark;
            FireClosedWindows();
        }
    }

    /// <summary>Emits every open window: the bounded input has ended.</summary>
    public void Complete(StageContext context)
    {
        _watermark = long.MaxValue - _spec.LatenessMicros;
        FireClosedWindows();
    }

    private void FireClosedWindows()
    {
        if (!_spec.IsClosed(_earliestOpenEnd, _watermark)) return;
        _closing.Clear();
        var earliest = long.MaxValue;
        foreach (var state in _keys.Values)
        {
            foreach (var (start, _) in state.Windows)
            {
                var end = start + _spec.SizeMicros;
                if (_spec.IsClosed(end, _watermark)) _closing.Add((end, state, start));
                else if (end < earliest) earliest = end;
            }
        }
        _earliestOpenEnd = earliest;
        _closing.Sort((a, b) => a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Key.Key, b.Key.Key));
        foreach (var (end, state, start) in _closing)
        {
            var accumulator = state.Windows[start];
            state.Windows.Remove(start);
            _output.OnWindow(new WindowResult(state.Key, start, end, accumulator.Count, accumulator.Sum, accumulator.Min, accumulator.Max));
            // A key's state exists only while it has an open window, so its last closing window releases it for reuse.
            if (state.Windows.Count == 0)
            {
                _keys.Remove(state.Key);
                _freeStates.Push(state);
            }
        }
    }

    private KeyState StateFor(string key)
    {
        if (_keys.TryGetValue(key, out var state)) return state;
        state = _freeStates.TryPop(out var free) ? free : new KeyState();
        state.Key = key;
        _keys.Add(key, state);
        return state;
    }

    private double ReadValue(Column column, int row) => _valueType switch
    {
        ColumnType.Float32 => column.Values<float>()[row],
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        _ => column.Values<long>()[row],
    };

    private static string Format(long micros) => micros == ColumnBatch.NoWatermark
        ? "(none)"
        : DateTime.UnixEpoch.AddTicks(micros * 10).ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private sealed class KeyState
    {
        public string Key { get; set; } = "";

        public Dictionary<long, Accumulator> Windows { get; } = [];

        public void Add(long start, double value)
        {
            ref var accumulator = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Windows, start, out var exists);
            if (!exists) accumulator = new Accumulator(0, 0, double.PositiveInfinity, double.NegativeInfinity);
            accumulator = new Accumulator(accumulator.Count + 1, accumulator.Sum + value, Math.Min(accumulator.Min, value), Math.Max(accumulator.Max, value));
        }
    }

    private readonly record struct Accumulator(long Count, double Sum, double Min, double Max);
}
