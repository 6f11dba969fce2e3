using System.Text;
using StreamMl.Engine;
using StreamMl.Operators.Drift.Internal;

namespace StreamMl.Operators.Drift;

/// <summary>Watches features for drift against a <see cref="ReferenceProfile"/>: per batch it updates moments
/// (Welford/Chan), missing counts and reference-bin or category counts of every monitored feature, for the lifetime
/// and, when <see cref="DriftOptions.Window"/> is set, for event-time windows that close on the batch watermark.
/// Concept-drift detectors run over scalar columns. Rows pass through unchanged. In steady state a batch allocates
/// nothing; reports are built on demand (<see cref="GetReport"/>) and may be read from any thread.</summary>
public sealed class DriftOperator : IBatchOperator
{
    private readonly DriftOptions _options;
    private readonly SimdWidth _width;
    private readonly Lock _lock = new();
    private FeatureBinding[] _features = [];
    private MonitorBinding[] _monitors = [];
    private ScopeState _lifetime = null!;
    private float[] _scratch = new float[ColumnBatch.DefaultCapacity];
    private long[] _integerScratch = [];
    private int[] _narrowScratch = [];
    private long _batchVersion;
    private long _lateRows;

    // Windows: rows go to panes of one slide each; a window is the merge of Size/Slide consecutive panes.
    private readonly long _slide;
    private readonly long _size;
    private readonly int _panesPerWindow;
    private readonly Dictionary<long, ScopeState> _panes = [];
    private readonly Stack<ScopeState> _freePanes = new();
    private long[] _retireBuffer = new long[16];
    private long _closedThrough = long.MinValue; // every window ending at or before this has been closed
    private ScopeState[] _history = [];
    private int _historyNext;
    private long _windowsClosed;
    private long _windowsInDrift;
    private readonly List<DetectorDetection> _batchDetections = new(16);

    // Row references and row windows (DriftOptions.ReferenceRows, WindowRows).
    private ReferenceProfile? _profile;
    private ReferenceProfileBuilder? _referenceBuilder;
    private long _referenceRowsSeen;
    private bool _referenceJustBuilt;
    private ScopeState? _rowWindow;
    private long _rowWindowFirstTime = long.MaxValue;
    private long _rowWindowLastTime = long.MinValue;
    private readonly List<DriftReport> _closedRowWindows = [];

    /// <summary>Creates the operator; columns are resolved in <see cref="Bind"/>.</summary>
    public DriftOperator(DriftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WindowHistory, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ReferenceRows);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WindowRows);
        if ((options.Profile is null) == (options.ReferenceRows == 0))
            throw new ArgumentException("DriftOptions needs exactly one reference: a Profile, or ReferenceRows (the first rows of the stream)", nameof(options));
        if (options.ReferenceRows > 0 && options.Features is not { Count: > 0 })
            throw new ArgumentException("DriftOptions.ReferenceRows needs Features: the numeric columns to profile", nameof(options));
        if (options.WindowRows > 0 && options.Window is not null)
            throw new ArgumentException("DriftOptions takes event-time windows (Window) or row windows (WindowRows), not both", nameof(options));
        _options = options;
        _profile = options.Profile;
        _width = options.UseSimd ? SimdWidth.Vector512 : SimdWidth.Scalar;
        if (options.Window is { } w)
        {
            _slide = w.SlideMicros;
            _size = w.SizeMicros;
            _panesPerWindow = (int)(_size / _slide);
        }
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <summary>Windows closed so far.</summary>
    public long WindowsClosed { get { lock (_lock) return _windowsClosed; } }

    /// <summary>Closed windows whose status was <see cref="DriftStatus.Drift"/>.</summary>
    public long WindowsInDrift { get { lock (_lock) return _windowsInDrift; } }

    /// <summary>Rows that arrived after their window had closed (counted in the lifetime scope only).</summary>
    public long LateRows { get { lock (_lock) return _lateRows; } }

    /// <summary>The reference drift is measured against: <see cref="DriftOptions.Profile"/>, or the profile of the first
    /// <see cref="DriftOptions.ReferenceRows"/> rows once they have passed (null before).</summary>
    public ReferenceProfile? Profile { get { lock (_lock) return _profile; } }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        if (_profile is null)
        {
            foreach (var name in _options.Features!)
            {
                var type = input[input.Require(name)].Type;
                if (!ColumnTypes.IsNumeric(type) || type == ColumnType.Timestamp)
                    throw new SchemaMismatchException($"drift feature '{name}' is {ColumnTypes.Name(type)}; drift is measured on numeric columns");
            }
            _referenceBuilder = new ReferenceProfileBuilder(new ProfileOptions { Columns = _options.Features, Bins = _options.ReferenceBins });
            _referenceBuilder.Bind(input);
        }
        _monitors = [.. _options.Monitors.Select(m =>
        {
            var index = input.Require(m.Column);
            var type = input[index].Type;
            if (type is ColumnType.String or ColumnType.Timestamp)
                throw new SchemaMismatchException($"drift: detector column '{m.Column}' is {ColumnTypes.Name(type)}; it must be numeric or bool");
            return new MonitorBinding(m, index);
        })];
        BindFeatures(_profile, input);
        return input;
    }

    /// <summary>Resolves the monitored features against <paramref name="profile"/> (none while a row reference is still
    /// being collected) and creates the scopes.</summary>
    private void BindFeatures(ReferenceProfile? profile, Schema input)
    {
        if (profile is null)
        {
            _lifetime = new ScopeState(_features);
            return;
        }
        var names = _options.Features ?? profile.Features.Select(f => f.Name).ToList();
        var features = new List<FeatureBinding>();
        foreach (var name in names)
        {
            var fp = profile.Find(name) ?? throw new SchemaMismatchException(
                $"drift: feature '{name}' is not in the reference profile; it has: {string.Join(", ", profile.Features.Select(f => f.Name))}");
            var index = input.Require(name);
            var type = input[index].Type;
            var ok = fp.Kind == FeatureKind.Numeric
                ? type is ColumnType.Float32 or ColumnType.Float64 or ColumnType.Int32 or ColumnType.Int64 or ColumnType.Bool
                : type is ColumnType.String or ColumnType.Int32 or ColumnType.Int64 or ColumnType.Bool;
            if (!ok)
                throw new SchemaMismatchException($"drift: feature '{name}' is {fp.Kind.ToString().ToLowerInvariant()} in the profile but the column is {ColumnTypes.Name(type)}");
            features.Add(new FeatureBinding(fp, index, type));
        }
        _features = [.. features];
        _lifetime = new ScopeState(_features);
        _history = new ScopeState[_options.WindowHistory];
        if (_options.Window is not null || _options.WindowRows > 0)
            for (var i = 0; i < _history.Length; i++) _history[i] = new ScopeState(_features);
        if (_options.Window is not null)
        {
            // Enough panes for a window plus a few ahead of the watermark, so steady state never allocates one.
            for (var i = 0; i < _panesPerWindow + 4; i++) _freePanes.Push(new ScopeState(_features));
        }
        if (_options.WindowRows > 0) _rowWindow = new ScopeState(_features);
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        if (_lifetime is null) throw new PipelineException($"drift operator '{Name}' was used before Bind");
        var closed = 0;
        lock (_lock)
        {
            _batchVersion++;
            if (_scratch.Length < batch.Length) _scratch = new float[batch.Capacity];
            if (_integerScratch.Length < batch.Length) _integerScratch = new long[batch.Capacity];
            if (_narrowScratch.Length < batch.Length) _narrowScratch = new int[batch.Capacity];
            var n = batch.Length;
            if (_referenceBuilder is not null || _rowWindow is not null)
            {
                ProcessRows(batch);
            }
            else if (_slide == 0)
            {
                UpdateRange(_lifetime, batch, 0, n);
            }
            else
            {
                var times = batch.EventTimes;
                var start = 0;
                while (start < n)
                {
                    var pane = FloorDiv(times[start], _slide);
                    var paneStart = pane * _slide;
                    var paneEnd = paneStart + _slide;
                    var end = start + 1;
                    while (end < n && times[end] >= paneStart && times[end] < paneEnd) end++;
                    if (paneEnd <= _closedThrough)
                    {
                        _lateRows += SelectedCount(batch, start, end);
                        UpdateRange(_lifetime, batch, start, end);
                    }
                    else
                    {
                        UpdateRange(GetPane(pane), batch, start, end);
                    }
                    start = end;
                }
            }
            if (_monitors.Length > 0) UpdateMonitors(batch);
            if (_slide != 0 && batch.Watermark != ColumnBatch.NoWatermark) closed = CloseWindows(batch.Watermark);
        }
        if (closed > 0 && _options.WindowClosed is not null) Notify(closed);
        NotifyRowReferenceAndWindows();
        // Process runs on one thread, so the list is not changed while it is read here.
        if (_options.DetectorFired is { } fired)
            foreach (var detection in _batchDetections) fired(detection);
    }

    /// <summary>Every detection of the last batch, in row order (several may fire in one batch; each has the event time
    /// of the row that triggered it).</summary>
    public IReadOnlyList<DetectorDetection> GetLastBatchDetections()
    {
        lock (_lock) return [.. _batchDetections];
    }

    /// <inheritdoc/>
    public void Complete(StageContext context)
    {
        var closed = 0;
        lock (_lock)
        {
            if (_slide != 0) closed = CloseWindows(long.MaxValue - 1);
            if (_rowWindow is { Rows: > 0 }) CloseRowWindow();
        }
        if (closed > 0 && _options.WindowClosed is not null) Notify(closed);
        NotifyRowReferenceAndWindows();
    }

    /// <summary>Row mode: the first selected rows go to the reference until it is complete; after that, every run of
    /// <see cref="DriftOptions.WindowRows"/> selected rows is a window (or, without row windows, the lifetime).</summary>
    private void ProcessRows(ColumnBatch batch)
    {
        var start = 0;
        while (start < batch.Length)
        {
            if (_referenceBuilder is not null)
            {
                var (referenceEnd, referenceSelected) = Segment(batch, start, _options.ReferenceRows - _referenceRowsSeen);
                _referenceBuilder.Add(batch, start, referenceEnd);
                _referenceRowsSeen += referenceSelected;
                start = referenceEnd;
                if (_referenceRowsSeen == _options.ReferenceRows)
                {
                    _profile = _referenceBuilder.Build();
                    _referenceBuilder = null;
                    _referenceJustBuilt = true;
                    BindFeatures(_profile, batch.Schema);
                }
                continue;
            }
            if (_rowWindow is null)
            {
                UpdateRange(_lifetime, batch, start, batch.Length);
                return;
            }
            var (end, _) = Segment(batch, start, _options.WindowRows - _rowWindow.Rows);
            UpdateRange(_rowWindow, batch, start, end);
            var times = batch.EventTimes;
            for (var row = start; row < end; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue; // rejected rows are not in the window, nor in its span
                _rowWindowFirstTime = Math.Min(_rowWindowFirstTime, times[row]);
                _rowWindowLastTime = Math.Max(_rowWindowLastTime, times[row]);
            }
            if (_rowWindow.Rows == _options.WindowRows) CloseRowWindow();
            start = end;
        }
    }

    /// <summary>Rows from <paramref name="start"/> up to the one that makes <paramref name="wanted"/> selected rows (or
    /// the end of the batch), and how many of them are selected.</summary>
    private static (int End, long Selected) Segment(ColumnBatch batch, int start, long wanted)
    {
        if (batch.Selection.AllSelected)
        {
            var take = (int)Math.Min(wanted, batch.Length - start);
            return (start + take, take);
        }
        long selected = 0;
        var row = start;
        while (row < batch.Length && selected < wanted)
        {
            if (batch.Selection.IsSelected(row)) selected++;
            row++;
        }
        return (row, selected);
    }

    /// <summary>Moves the open row window into the history and the lifetime; its report is handed to
    /// <see cref="DriftOptions.WindowClosed"/> after the batch (every one, however many closed in the batch).</summary>
    private void CloseRowWindow()
    {
        var window = _rowWindow!;
        var slot = _history[_historyNext];
        _historyNext = (_historyNext + 1) % _history.Length;
        slot.Clear();
        slot.MergeFrom(window);
        slot.Start = _rowWindowFirstTime == long.MaxValue ? 0 : _rowWindowFirstTime;
        slot.End = _rowWindowLastTime == long.MinValue ? 0 : _rowWindowLastTime;
        ScoreScope(slot);
        _windowsClosed++;
        if (slot.Status == DriftStatus.Drift) _windowsInDrift++;
        if (_options.WindowClosed is not null) _closedRowWindows.Add(BuildReport(slot, "window", slot.Start, slot.End, includeDetectors: false));
        _lifetime.MergeFrom(window);
        window.Clear();
        _rowWindowFirstTime = long.MaxValue;
        _rowWindowLastTime = long.MinValue;
    }

    /// <summary>Outside the lock, so the callbacks may call back into the operator: the reference that was just built,
    /// then the row windows closed since the last call, oldest first.</summary>
    private void NotifyRowReferenceAndWindows()
    {
        if (_referenceJustBuilt)
        {
            _referenceJustBuilt = false;
            _options.ReferenceBuilt?.Invoke(_profile!);
        }
        if (_closedRowWindows.Count == 0) return;
        foreach (var report in _closedRowWindows) _options.WindowClosed!(report);
        _closedRowWindows.Clear();
    }

    /// <summary>Hands the <paramref name="closed"/> newest windows to the callback, oldest first, outside the lock so
    /// the callback may call back into the operator.</summary>
    private void Notify(int closed)
    {
        var reports = GetWindowReports();
        for (var i = Math.Max(0, reports.Count - closed); i < reports.Count; i++) _options.WindowClosed!(reports[i]);
    }

    /// <summary>Everything since the operator started (after the row reference, when there is one): closed and open
    /// windows, late rows, and the detectors.</summary>
    public DriftReport GetReport()
    {
        lock (_lock)
        {
            var scope = new ScopeState(_features);
            scope.MergeFrom(_lifetime);
            foreach (var pane in _panes.Values) scope.MergeFrom(pane);
            if (_rowWindow is not null) scope.MergeFrom(_rowWindow);
            ScoreScope(scope);
            return BuildReport(scope, "lifetime", null, null, includeDetectors: true);
        }
    }

    /// <summary>The closed windows still in the history, oldest first.</summary>
    public IReadOnlyList<DriftReport> GetWindowReports()
    {
        lock (_lock)
        {
            var count = (int)Math.Min(_windowsClosed, _history.Length);
            var reports = new List<DriftReport>(count);
            for (var i = count; i > 0; i--)
            {
                var slot = _history[(_historyNext - i + _history.Length) % _history.Length];
                reports.Add(BuildReport(slot, "window", slot.Start, slot.End, includeDetectors: false));
            }
            return reports;
        }
    }

    /// <summary>The most recently closed window, or null when none has closed.</summary>
    public DriftReport? GetLatestWindowReport()
    {
        lock (_lock)
        {
            if (_windowsClosed == 0) return null;
            var slot = _history[(_historyNext - 1 + _history.Length) % _history.Length];
            return BuildReport(slot, "window", slot.Start, slot.End, includeDetectors: false);
        }
    }

    private ScopeState GetPane(long pane)
    {
        if (_panes.TryGetValue(pane, out var state)) return state;
        state = _freePanes.Count > 0 ? _freePanes.Pop() : new ScopeState(_features);
        state.Clear();
        state.Start = pane * _slide;
        state.End = state.Start + _slide;
        _panes.Add(pane, state);
        return state;
    }

    /// <summary>Closes, in order, every window that ends at or before the watermark plus one microsecond (rows at or
    /// below the watermark can no longer arrive), skipping stretches without panes; retires panes no open window needs.</summary>
    private int CloseWindows(long watermark)
    {
        var target = FloorDiv(watermark + 1, _slide) * _slide;
        if (target <= _closedThrough) return 0;
        var closed = 0;
        while (_panes.Count > 0)
        {
            var minPane = long.MaxValue;
            foreach (var key in _panes.Keys) minPane = Math.Min(minPane, key);
            // First window holding the oldest pane ends one slide after it.
            var end = Math.Max((minPane + 1) * _slide, _closedThrough == long.MinValue ? long.MinValue : _closedThrough + _slide);
            if (end > target) break;
            EmitWindow(end);
            closed++;
            _closedThrough = end;
            RetireBefore(end / _slide - _panesPerWindow + 1);
        }
        _closedThrough = Math.Max(_closedThrough, target);
        return closed;
    }

    private void EmitWindow(long end)
    {
        var slot = _history[_historyNext];
        _historyNext = (_historyNext + 1) % _history.Length;
        slot.Clear();
        slot.Start = end - _size;
        slot.End = end;
        var lastPane = end / _slide - 1;
        for (var p = lastPane - _panesPerWindow + 1; p <= lastPane; p++)
            if (_panes.TryGetValue(p, out var pane)) slot.MergeFrom(pane);
        ScoreScope(slot);
        _windowsClosed++;
        if (slot.Status == DriftStatus.Drift) _windowsInDrift++;
    }

    /// <summary>Moves panes older than <paramref name="firstNeeded"/> into the lifetime totals and back to the pool.</summary>
    private void RetireBefore(long firstNeeded)
    {
        var count = 0;
        foreach (var key in _panes.Keys)
        {
            if (key >= firstNeeded) continue;
            if (count == _retireBuffer.Length) Array.Resize(ref _retireBuffer, count * 2);
            _retireBuffer[count++] = key;
        }
        for (var i = 0; i < count; i++)
        {
            _panes.Remove(_retireBuffer[i], out var pane);
            _lifetime.MergeFrom(pane!);
            _freePanes.Push(pane!);
        }
    }

    private void ScoreScope(ScopeState scope)
    {
        var status = DriftStatus.Unknown;
        for (var i = 0; i < _features.Length; i++)
        {
            scope.Scores[i] = DriftScorer.Score(_features[i], scope.Features[i], _options.Thresholds);
            if (scope.Scores[i].Status > status) status = scope.Scores[i].Status;
        }
        scope.Status = status;
    }

    private void UpdateRange(ScopeState scope, ColumnBatch batch, int start, int end)
    {
        var allSelected = batch.Selection.AllSelected;
        scope.Rows += allSelected ? end - start : SelectedCount(batch, start, end);
        for (var i = 0; i < _features.Length; i++)
        {
            var f = _features[i];
            var acc = scope.Features[i];
            var column = batch[f.Column];
            if (f.Kind == FeatureKind.Numeric) UpdateNumeric(f, acc, column, batch.Selection, start, end, allSelected);
            else UpdateCategorical(f, acc, column, batch.Selection, start, end, allSelected);
        }
    }

    private void UpdateNumeric(FeatureBinding f, FeatureAccumulator acc, Column column, SelectionVector selection,
        int start, int end, bool allSelected)
    {
        if (column.Type == ColumnType.Float32)
        {
            var before = acc.Moments.Count;
            if (allSelected && !column.MayHaveNulls)
            {
                acc.Missing += NumericKernel.Accumulate(column.Values<float>()[start..end], f.EdgesFloat, acc.Counts,
                    ref acc.Moments, ref acc.Tails, _scratch, _width);
            }
            else
            {
                // Gather the live, valid, finite values so the vector kernel sees a dense span.
                var values = column.Values<float>();
                var kept = 0;
                for (var row = start; row < end; row++)
                {
                    if (!selection.IsSelected(row)) continue;
                    var v = values[row];
                    if (!column.IsValid(row) || !float.IsFinite(v)) acc.Missing++;
                    else _scratch[kept++] = v;
                }
                NumericKernel.Accumulate(_scratch.AsSpan(0, kept), f.EdgesFloat, acc.Counts, ref acc.Moments, ref acc.Tails,
                    _scratch, _width);
            }
            acc.Present += acc.Moments.Count - before;
            return;
        }

        if (column.Type is ColumnType.Int64 or ColumnType.Int32)
        {
            var before = acc.Moments.Count;
            var values = column.Type == ColumnType.Int64 && allSelected && !column.MayHaveNulls
                ? column.Values<long>()[start..end]
                : GatherIntegers(column, selection, start, end, allSelected, ref acc.Missing);
            IntegerKernel.Accumulate(values, f.Edges, f.IntegerThresholds, f.ReachableEdges, acc.Counts, ref acc.Moments,
                ref acc.Tails, _narrowScratch, _width);
            acc.Present += acc.Moments.Count - before;
            return;
        }

        var bins = f.BinScratch.AsSpan();
        bins.Clear();
        for (var row = start; row < end; row++)
        {
            if (!selection.IsSelected(row)) continue;
            if (!column.IsValid(row)) { acc.Missing++; continue; }
            var v = ReferenceProfileBuilder.ReadNumber(column, row);
            if (!double.IsFinite(v)) { acc.Missing++; continue; }
            acc.Moments.Add(v);
            acc.Present++;
            var bin = NumericKernel.BinOf(f.Edges, v);
            bins[bin]++;
            NumericKernel.AddTail(ref acc.Tails, bin, f.Edges.Length, v);
        }
        NumericKernel.AddCumulative(bins, acc.Counts);
    }

    /// <summary>The live, valid values of an integer column as a dense span of longs (int32 widened); null rows count
    /// as missing.</summary>
    private ReadOnlySpan<long> GatherIntegers(Column column, SelectionVector selection, int start, int end, bool allSelected,
        ref long missing)
    {
        var kept = 0;
        var scratch = _integerScratch;
        var noNulls = !column.MayHaveNulls;
        if (column.Type == ColumnType.Int32)
        {
            var ints = column.Values<int>();
            if (allSelected && noNulls) return IntegerKernel.Widen(ints[start..end], scratch);
            for (var row = start; row < end; row++)
            {
                if (!allSelected && !selection.IsSelected(row)) continue;
                if (!noNulls && !column.IsValid(row)) { missing++; continue; }
                scratch[kept++] = ints[row];
            }
            return scratch.AsSpan(0, kept);
        }
        var longs = column.Values<long>();
        for (var row = start; row < end; row++)
        {
            if (!allSelected && !selection.IsSelected(row)) continue;
            if (!noNulls && !column.IsValid(row)) { missing++; continue; }
            scratch[kept++] = longs[row];
        }
        return scratch.AsSpan(0, kept);
    }

    private void UpdateCategorical(FeatureBinding f, FeatureAccumulator acc, Column column, SelectionVector selection,
        int start, int end, bool allSelected)
    {
        var counts = acc.Counts;
        if (column.Type == ColumnType.String)
        {
            var dictionary = column.Dictionary!;
            if (f.MappedBatch != _batchVersion)
            {
                if (f.CodeMap.Length < dictionary.Count) f.CodeMap = new int[Math.Max(dictionary.Count, f.CodeMap.Length * 2)];
                for (var code = 0; code < dictionary.Count; code++)
                    f.CodeMap[code] = f.StringCategories!.TryGetValue(dictionary[code], out var index) ? index : f.OtherBucket;
                f.MappedBatch = _batchVersion;
            }
            var codes = column.Values<int>();
            var map = f.CodeMap;
            var noNulls = !column.MayHaveNulls;
            for (var row = start; row < end; row++)
            {
                if (!allSelected && !selection.IsSelected(row)) continue;
                if (!noNulls && !column.IsValid(row)) { acc.Missing++; continue; }
                counts[map[codes[row]]]++;
                acc.Present++;
            }
            return;
        }
        if (f.DenseCategories is { } dense && column.Type is ColumnType.Int64 or ColumnType.Int32)
        {
            var noNulls = !column.MayHaveNulls;
            if (column.Type == ColumnType.Int64)
            {
                var longs = column.Values<long>();
                for (var row = start; row < end; row++)
                {
                    if (!allSelected && !selection.IsSelected(row)) continue;
                    if (!noNulls && !column.IsValid(row)) { acc.Missing++; continue; }
                    counts[dense.Lookup(longs[row])]++;
                    acc.Present++;
                }
            }
            else
            {
                var ints = column.Values<int>();
                for (var row = start; row < end; row++)
                {
                    if (!allSelected && !selection.IsSelected(row)) continue;
                    if (!noNulls && !column.IsValid(row)) { acc.Missing++; continue; }
                    counts[dense.Lookup(ints[row])]++;
                    acc.Present++;
                }
            }
            return;
        }
        var lookup = f.IntCategories!;
        for (var row = start; row < end; row++)
        {
            if (!allSelected && !selection.IsSelected(row)) continue;
            if (!column.IsValid(row)) { acc.Missing++; continue; }
            var key = column.Type switch
            {
                ColumnType.Int32 => column.Values<int>()[row],
                ColumnType.Int64 => column.Values<long>()[row],
                _ => (long)column.Values<byte>()[row],
            };
            counts[lookup.TryGetValue(key, out var index) ? index : f.OtherBucket]++;
            acc.Present++;
        }
    }

    private void UpdateMonitors(ColumnBatch batch)
    {
        _batchDetections.Clear();
        var times = batch.EventTimes;
        foreach (var m in _monitors)
        {
            var column = batch[m.Column];
            for (var row = 0; row < batch.Length; row++)
            {
                if (!batch.Selection.IsSelected(row) || !column.IsValid(row)) continue;
                var v = ReferenceProfileBuilder.ReadNumber(column, row);
                if (!double.IsFinite(v)) continue;
                var before = m.Options.Detector.Estimate;
                m.LastSignal = m.Options.Detector.Update(v);
                if (m.LastSignal != DetectorSignal.Drift) continue;
                m.LastDetectionEventTime = times[row];
                _batchDetections.Add(new DetectorDetection(m.Options.Column, m.Options.Detector.Name, times[row], v, before));
            }
        }
    }

    private DriftReport BuildReport(ScopeState scope, string kind, long? start, long? end, bool includeDetectors)
    {
        var features = new List<FeatureDrift>(_features.Length);
        var reason = new StringBuilder();
        for (var i = 0; i < _features.Length; i++)
        {
            var f = _features[i];
            var acc = scope.Features[i];
            var s = scope.Scores[i];
            reason.Clear();
            if (s.Status != DriftStatus.Unknown) DriftScorer.Judge(s, f.Profile.MissingRate, _options.Thresholds, reason);
            else reason.Append("fewer than ").Append(_options.Thresholds.MinRows).Append(" rows with a value");
            var numeric = f.Kind == FeatureKind.Numeric;
            var hasValues = acc.Moments.Count > 0;
            features.Add(new FeatureDrift
            {
                Name = f.Profile.Name,
                Kind = f.Kind,
                Status = s.Status,
                Reason = reason.ToString(),
                Count = acc.Present,
                Missing = acc.Missing,
                MissingRate = double.IsNaN(s.MissingRate) ? 0 : s.MissingRate,
                ReferenceMissingRate = f.Profile.MissingRate,
                Mean = numeric && hasValues ? acc.Moments.Mean : null,
                StdDev = numeric && acc.Moments.Count > 1 ? acc.Moments.StandardDeviation : null,
                Min = numeric && hasValues ? acc.Moments.Min : null,
                Max = numeric && hasValues ? acc.Moments.Max : null,
                Psi = NullIfNaN(s.Psi),
                JensenShannon = NullIfNaN(s.JensenShannon),
                KolmogorovSmirnov = NullIfNaN(s.Ks),
                Wasserstein = NullIfNaN(s.Wasserstein),
                WassersteinRelative = NullIfNaN(s.WassersteinRelative),
                ChiSquare = NullIfNaN(s.ChiSquare),
                ChiSquarePValue = NullIfNaN(s.ChiSquarePValue),
                UnseenRate = NullIfNaN(s.UnseenRate),
                Counts = numeric ? BinsFromCumulative(acc.Counts, acc.Moments.Count) : [.. acc.Counts],
            });
        }
        return new DriftReport
        {
            Scope = kind,
            WindowStart = start,
            WindowEnd = end,
            Rows = scope.Rows,
            LateRows = includeDetectors ? _lateRows : 0,
            Status = scope.Status,
            Features = features,
            Detectors = includeDetectors
                ? [.. _monitors.Select(m => new DetectorReport
                {
                    Column = m.Options.Column,
                    Detector = m.Options.Detector.Name,
                    Samples = m.Options.Detector.Samples,
                    Detections = m.Options.Detector.Detections,
                    Estimate = m.Options.Detector.Estimate,
                    LastDetectionEventTime = m.LastDetectionEventTime,
                    LastSignal = m.LastSignal,
                })]
                : null,
        };
    }

    private static long[] BinsFromCumulative(long[] less, long total)
    {
        var bins = new long[less.Length + 1];
        for (var k = 0; k < bins.Length; k++) bins[k] = DriftMath.BinCount(less, total, k);
        return bins;
    }

    private static double? NullIfNaN(double value) => double.IsNaN(value) ? null : value;

    private static int SelectedCount(ColumnBatch batch, int start, int end)
    {
        if (batch.Selection.AllSelected) return end - start;
        var count = 0;
        for (var row = start; row < end; row++)
            if (batch.Selection.IsSelected(row)) count++;
        return count;
    }

    private static long FloorDiv(long a, long b)
    {
        var q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
    }

    private sealed class MonitorBinding(ScalarMonitor options, int column)
    {
        public ScalarMonitor Options { get; } = options;
        public int Column { get; } = column;
        public DetectorSignal LastSignal { get; set; }
        public long? LastDetectionEventTime { get; set; }
    }
}
