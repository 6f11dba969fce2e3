using StreamMl.Engine;
using StreamMl.Operators.Anomaly;

namespace StreamMl.Operators.Monitoring;

/// <summary>Runs detectors over columns, one detector per key and column (per device, file or model variant), and turns
/// each detection into an <see cref="Alert"/> on <see cref="MonitorOptions.Alerts"/>, subject to a per-key cooldown.
/// Needs no reference profile. Rows pass through unchanged. Keys are resolved once per batch (a string key column's
/// dictionary is mapped to key slots once per batch); in steady state only the detectors' own work and alerts allocate.</summary>
public sealed class MonitorOperator : IBatchOperator
{
    private readonly MonitorOptions _options;
    private readonly AlertCooldown _cooldown;
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _intKeys = [];
    private readonly List<string> _keyNames = [];
    private readonly List<IMonitorDetector>[] _detectors;
    private readonly KeyedDetectors[]? _banks;
    private int[] _columns = [];
    private ColumnType[] _types = [];
    private int _keyColumn = -1;
    private int[] _codeSlots = [];
    private int[] _rowSlots = new int[ColumnBatch.DefaultCapacity];
    private double[] _values = new double[ColumnBatch.DefaultCapacity];
    private double[] _rowValues = [];
    private long _valuesSeen;
    private long _detections;
    private long _overLimit;

    /// <summary>Creates the operator; columns are resolved in <see cref="Bind"/>.</summary>
    public MonitorOperator(MonitorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Columns.Count == 0) throw new ArgumentException("a monitor needs at least one column to watch", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxKeys, 1);
        if ((options.Detector is null) == (options.CreateDetector is null))
            throw new ArgumentException("a monitor needs exactly one of Detector (anomaly detector settings) or CreateDetector", nameof(options));
        _options = options;
        _cooldown = new AlertCooldown(options.Cooldown);
        _detectors = [.. options.Columns.Select(_ => new List<IMonitorDetector>())];
        if (options.Detector is { } settings)
        {
            var first = AnomalyDetectors.CreateKeyed(settings);
            if (first.Dimensions == 1)
                _banks = [first, .. options.Columns.Skip(1).Select(_ => AnomalyDetectors.CreateKeyed(settings))];
            else if (first.Dimensions == options.Columns.Count)
                _banks = [first]; // multivariate: one detector per key over all the columns, one update per row
            else
                throw new ArgumentException($"detector '{settings.Detector}' takes {first.Dimensions} values per update; list as many columns (the monitor has {options.Columns.Count})", nameof(options));
        }
        // Without a key column every row is slot 0.
        if (options.KeyColumn is null && _banks is not null) foreach (var bank in _banks) bank.SlotOf(0L);
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <summary>The options it runs with.</summary>
    public MonitorOptions Options => _options;

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _columns = new int[_options.Columns.Count];
        _types = new ColumnType[_columns.Length];
        for (var i = 0; i < _columns.Length; i++)
        {
            var name = _options.Columns[i];
            var index = input.IndexOf(name);
            if (index < 0) throw new SchemaMismatchException($"{Name}: column '{name}' is not in the stream; it has: {string.Join(", ", input.Select(f => f.Name))}");
            var type = input[index].Type;
            if (type is ColumnType.String or ColumnType.Timestamp)
                throw new SchemaMismatchException($"{Name}: column '{name}' is {ColumnTypes.Name(type)}; a monitor watches numeric or bool columns");
            _columns[i] = index;
            _types[i] = type;
        }
        if (_options.KeyColumn is { } key)
        {
            _keyColumn = input.IndexOf(key);
            if (_keyColumn < 0) throw new SchemaMismatchException($"{Name}: key column '{key}' is not in the stream; it has: {string.Join(", ", input.Select(f => f.Name))}");
            if (input[_keyColumn].Type is not (ColumnType.String or ColumnType.Int32 or ColumnType.Int64))
                throw new SchemaMismatchException($"{Name}: key column '{key}' is {ColumnTypes.Name(input[_keyColumn].Type)}; keys are string, int32 or int64 columns");
        }
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var n = batch.Length;
        if (n == 0) return;
        if (_rowSlots.Length < n)
        {
            _rowSlots = new int[batch.Capacity];
            _values = new double[batch.Capacity];
        }
        if (IsMultivariate && _rowValues.Length < n * _columns.Length) _rowValues = new double[batch.Capacity * _columns.Length];
        ResolveKeys(batch, _rowSlots.AsSpan(0, n));
        var times = batch.EventTimes;
        var selection = batch.Selection;
        for (var c = 0; c < _columns.Length; c++)
        {
            var column = batch[_columns[c]];
            var values = _values.AsSpan(0, n);
            ReadValues(column, _types[c], values);
            if (IsMultivariate)
            {
                for (var row = 0; row < n; row++) _rowValues[row * _columns.Length + c] = values[row];
                if (c == _columns.Length - 1) UpdateJoint(_banks![0], n, times, selection);
                continue;
            }
            if (_banks is not null)
            {
                UpdateBank(_banks[c], c, values, times, selection);
                continue;
            }
            var detectors = _detectors[c];
            for (var row = 0; row < n; row++)
            {
                var slot = _rowSlots[row];
                if (slot < 0 || !selection.IsSelected(row)) continue;
                var v = values[row];
                if (!double.IsFinite(v)) continue;
                while (detectors.Count <= slot) detectors.Add(_options.CreateDetector!());
                _valuesSeen++;
                if (!detectors[slot].Update(times[row], v, out var detection)) continue;
                _detections++;
                if (_cooldown.Admit(slot * _columns.Length + c, times[row])) Raise(slot, c, times[row], detectors[slot].Name, detection);
                else _options.Alerts.NoteSuppressed();
            }
        }
    }

    private bool IsMultivariate => _banks is { Length: 1 } && _banks[0].Dimensions > 1;

    /// <summary>Feeds each row's values of every column (row-major in <see cref="_rowValues"/>) to the key's multivariate
    /// detector; a row with a missing or non-finite value is skipped. Alerts name the columns joined by '+'.</summary>
    private void UpdateJoint(KeyedDetectors bank, int n, ReadOnlySpan<long> times, SelectionVector selection)
    {
        var d = _columns.Length;
        for (var row = 0; row < n; row++)
        {
            var slot = _rowSlots[row];
            if (slot < 0 || !selection.IsSelected(row)) continue;
            var point = _rowValues.AsSpan(row * d, d);
            if (!AllFinite(point)) continue;
            _valuesSeen++;
            var score = bank.Update(slot, point, times[row]);
            if (!score.IsAnomaly) continue;
            _detections++;
            if (!_cooldown.Admit(slot, times[row]))
            {
                _options.Alerts.NoteSuppressed();
                continue;
            }
            Raise(slot, -1, times[row], bank.Name, new MonitorDetection(score.Statistic, score.Threshold,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"values scored {score.Statistic:G4} >= threshold {score.Threshold:G4}")));
        }
    }

    private static bool AllFinite(ReadOnlySpan<double> values)
    {
        foreach (var v in values)
            if (!double.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Feeds one column's values to its bank, slot by slot; keys were added to every bank in slot order, so the
    /// operator's slot is the bank's.</summary>
    private void UpdateBank(KeyedDetectors bank, int c, ReadOnlySpan<double> values, ReadOnlySpan<long> times, SelectionVector selection)
    {
        for (var row = 0; row < values.Length; row++)
        {
            var slot = _rowSlots[row];
            if (slot < 0 || !selection.IsSelected(row)) continue;
            var v = values[row];
            if (!double.IsFinite(v)) continue;
            _valuesSeen++;
            var score = bank.Update(slot, v, times[row]);
            if (!score.IsAnomaly) continue;
            _detections++;
            if (!_cooldown.Admit(slot * _columns.Length + c, times[row]))
            {
                _options.Alerts.NoteSuppressed();
                continue;
            }
            Raise(slot, c, times[row], bank.Name, new MonitorDetection(score.Statistic, score.Threshold,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"value {v:G6} scored {score.Statistic:G4} >= threshold {score.Threshold:G4}")));
        }
    }

    /// <summary>Counters so far. Call from the stage thread, or accept slightly stale values from another.</summary>
    public MonitorReport GetReport() => new()
    {
        Name = Name,
        Keys = _keyColumn < 0 ? (_valuesSeen > 0 ? 1 : 0) : _keyNames.Count,
        Values = Volatile.Read(ref _valuesSeen),
        Detections = Volatile.Read(ref _detections),
        Alerts = _cooldown.Admitted,
        Suppressed = _cooldown.Suppressed,
        RowsOverKeyLimit = Volatile.Read(ref _overLimit),
    };

    private void Raise(int slot, int c, long eventTime, string detector, MonitorDetection detection)
    {
        var key = _keyColumn < 0 ? "" : _keyNames[slot];
        var column = c < 0 ? string.Join('+', _options.Columns) : _options.Columns[c];
        _options.Alerts.Publish(new Alert
        {
            Kind = "anomaly",
            Key = key,
            EventTime = eventTime,
            Column = column,
            Detector = detector,
            Statistic = detection.Statistic,
            Threshold = detection.Threshold,
            Severity = _options.Severity,
            Message = $"{column}{(key.Length == 0 ? "" : $" of {key}")}: {detection.Description}",
            Model = _options.Model,
            ModelVersion = _options.ModelVersion,
            Monitor = Name,
        });
    }

    /// <summary>The key slot of every row (-1: null key or over the key limit), resolving each distinct key once per batch.</summary>
    private void ResolveKeys(ColumnBatch batch, Span<int> slots)
    {
        if (_keyColumn < 0)
        {
            slots.Clear();
            return;
        }
        var column = batch[_keyColumn];
        switch (column.Type)
        {
            case ColumnType.String:
                var dictionary = column.Dictionary!;
                if (_codeSlots.Length < dictionary.Count) _codeSlots = new int[Math.Max(dictionary.Count, _codeSlots.Length * 2)];
                for (var code = 0; code < dictionary.Count; code++) _codeSlots[code] = SlotOf(dictionary[code]);
                var codes = column.Values<int>();
                for (var row = 0; row < slots.Length; row++) slots[row] = column.IsValid(row) ? _codeSlots[codes[row]] : -1;
                break;
            case ColumnType.Int32:
                var ints = column.Values<int>();
                for (var row = 0; row < slots.Length; row++) slots[row] = column.IsValid(row) ? SlotOf(ints[row]) : -1;
                break;
            default:
                var longs = column.Values<long>();
                for (var row = 0; row < slots.Length; row++) slots[row] = column.IsValid(row) ? SlotOf(longs[row]) : -1;
                break;
        }
        for (var row = 0; row < slots.Length; row++)
            if (slots[row] < 0 && column.IsValid(row)) _overLimit++;
    }

    private int SlotOf(string key)
    {
        if (_stringKeys.TryGetValue(key, out var slot)) return slot;
        if (_keyNames.Count >= _options.MaxKeys) return -1;
        slot = _keyNames.Count;
        _keyNames.Add(key);
        _stringKeys.Add(key, slot);
        if (_banks is not null) foreach (var bank in _banks) bank.SlotOf(key);
        return slot;
    }

    private int SlotOf(long key)
    {
        if (_intKeys.TryGetValue(key, out var slot)) return slot;
        if (_keyNames.Count >= _options.MaxKeys) return -1;
        slot = _keyNames.Count;
        _keyNames.Add(key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _intKeys.Add(key, slot);
        if (_banks is not null) foreach (var bank in _banks) bank.SlotOf(key);
        return slot;
    }

    /// <summary>Reads a column as doubles, one typed loop per column type; nulls become NaN.</summary>
    private static void ReadValues(Column column, ColumnType type, Span<double> values)
    {
        switch (type)
        {
            case ColumnType.Float32:
                var f = column.Values<float>();
                for (var i = 0; i < values.Length; i++) values[i] = f[i];
                break;
            case ColumnType.Float64:
                column.Values<double>()[..values.Length].CopyTo(values);
                break;
            case ColumnType.Int32:
                var n32 = column.Values<int>();
                for (var i = 0; i < values.Length; i++) values[i] = n32[i];
                break;
            case ColumnType.Int64:
                var n64 = column.Values<long>();
                for (var i = 0; i < values.Length; i++) values[i] = n64[i];
                break;
            default:
                var b = column.Values<byte>();
                for (var i = 0; i < values.Length; i++) values[i] = b[i];
                break;
        }
        if (!column.MayHaveNulls) return;
        for (var i = 0; i < values.Length; i++)
            if (!column.IsValid(i)) values[i] = double.NaN;
    }
}
