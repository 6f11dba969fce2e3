using StreamMl.Engine;
using StreamMl.Operators.Drift;

namespace StreamMl.Host.Pipelines;

/// <summary>Drift against the start of the stream (<c>drift: { reference: rows }</c>), measured by the drift area's
/// <see cref="DriftOperator"/>: the first <see cref="DriftSettings.ReferenceRows"/> rows are profiled
/// (<see cref="ReferenceProfileBuilder"/>: quantile bins, mean, standard deviation); from then on a drift operator over
/// that profile counts rows, and each window of exactly <see cref="DriftSettings.WindowRows"/> rows becomes a window of
/// the pipeline's drift state, after which a fresh operator starts the next window. Windows count selected rows and
/// may end inside a batch: the stage copies each batch's drift columns, segment by segment, into a scratch batch of
/// its own, so the operators see exactly a window's rows and the pipeline's batch is left untouched. Status comes from
/// the PSI thresholds of the spec. Between two window ends a batch allocates nothing; closing a window builds a report
/// and a new operator.</summary>
internal sealed class RowReferenceDrift : IBatchOperator
{
    private readonly DriftSettings _settings;
    private readonly DriftState _state;
    private readonly DriftWindows _windows;
    private readonly ReferenceProfileBuilder _reference;
    private Schema _scratchSchema = Schema.Empty;
    private int[] _columns = [];
    private ColumnBatch? _scratch;
    private long _referenceRows;
    private ReferenceProfile? _profile;
    private DriftOperator? _window;
    private long _windowRows;
    private long _windowStart = long.MaxValue;
    private long _windowEnd = long.MinValue;

    public RowReferenceDrift(DriftSettings settings, DriftState state, EventHub events, string pipeline,
        Operators.Monitoring.AlertStream? alerts = null, TimeSpan cooldown = default)
    {
        _settings = settings;
        _state = state;
        _windows = new DriftWindows(state, events, pipeline, $"the first {settings.ReferenceRows} rows", alerts, cooldown);
        _reference = new ReferenceProfileBuilder(new ProfileOptions { Columns = settings.Features, Bins = settings.Bins });
    }

    public string Name => "drift";

    public Schema Bind(Schema input)
    {
        _columns = new int[_settings.Features.Count];
        for (var i = 0; i < _columns.Length; i++)
        {
            var name = _settings.Features[i];
            _columns[i] = input.Require(name);
            var type = input[_columns[i]].Type;
            if (!ColumnTypes.IsNumeric(type))
                throw new SchemaMismatchException($"drift feature '{name}' is {ColumnTypes.Name(type)}; drift is measured on numeric columns");
        }
        _scratchSchema = new Schema(_columns.Select(c => input[c] with { Nullable = true }));
        _reference.Bind(_scratchSchema);
        return input;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        if (_scratch is null || _scratch.Capacity < batch.Capacity)
        {
            _scratch?.Dispose();
            _scratch = new ColumnBatch(_scratchSchema, batch.Capacity);
        }
        var start = 0;
        while (start < batch.Length)
        {
            var wanted = _profile is null ? _settings.ReferenceRows - _referenceRows : _settings.WindowRows - _windowRows;
            var (end, selected) = Segment(batch, start, wanted);
            CopySegment(batch, start, end);
            if (_profile is null)
            {
                _reference.Add(_scratch);
                _referenceRows += selected;
                if (_referenceRows == _settings.ReferenceRows)
                {
                    _profile = _reference.Build();
                    _state.SetReference(_referenceRows);
                    _windows.StartAfter(_referenceRows);
                    _window = NewWindow();
                }
            }
            else
            {
                _window!.Process(_scratch, context);
                _windowRows += selected;
                var times = batch.EventTimes;
                for (var row = start; row < end; row++)
                {
                    if (!batch.Selection.IsSelected(row)) continue; // rejected rows are not in the window
                    _windowStart = Math.Min(_windowStart, times[row]);
                    _windowEnd = Math.Max(_windowEnd, times[row]);
                }
                if (_windowRows == _settings.WindowRows) CloseWindow();
            }
            start = end;
        }
    }

    public void Complete(StageContext context)
    {
        if (_profile is not null && _windowRows > 0) CloseWindow();
    }

    /// <summary>Rows from <paramref name="start"/> up to the one that makes <paramref name="wanted"/> selected rows (or
    /// the end of the batch), and how many of them are selected.</summary>
    private static (int End, long Selected) Segment(ColumnBatch batch, int start, long wanted)
    {
        long selected = 0;
        var row = start;
        while (row < batch.Length && selected < wanted)
        {
            if (batch.Selection.IsSelected(row)) selected++;
            row++;
        }
        return (row, selected);
    }

    private void CopySegment(ColumnBatch batch, int start, int end)
    {
        var scratch = _scratch!;
        var count = end - start;
        scratch.Reset();
        scratch.Length = count;
        for (var c = 0; c < _columns.Length; c++)
        {
            var from = batch[_columns[c]];
            var to = scratch[c];
            // Same type on both sides: copy the bytes (Values<T> checks the type, not only the size).
            var size = ColumnTypes.SizeOf(from.Type);
            from.RawValues.Slice(start * size, count * size).CopyTo(to.RawValues);
            if (from.MayHaveNulls)
                for (var r = 0; r < count; r++)
                    if (!from.IsValid(start + r)) to.SetNull(r);
        }
        if (!batch.Selection.AllSelected)
            for (var r = 0; r < count; r++)
                if (!batch.Selection.IsSelected(start + r)) scratch.Selection.Deselect(r);
    }

    private void CloseWindow()
    {
        _windows.OnWindowClosed(_window!.GetReport(), _profile!, _windowStart == long.MaxValue ? 0 : _windowStart,
            _windowEnd == long.MinValue ? 0 : _windowEnd);
        _window = NewWindow();
        _windowRows = 0;
        _windowStart = long.MaxValue;
        _windowEnd = long.MinValue;
    }

    private DriftOperator NewWindow()
    {
        var window = new DriftOperator(new DriftOptions
        {
            Profile = _profile!,
            Features = _settings.Features,
            Thresholds = new DriftThresholds
            {
                Psi = new Threshold(_settings.WarningPsi, _settings.DriftPsi),
                KolmogorovSmirnov = null,
                JensenShannon = null,
                WassersteinRelative = null,
                MissingRateIncrease = null,
                MinRows = Math.Min(100, _settings.WindowRows),
            },
        });
        window.Bind(_scratchSchema);
        return window;
    }
}
