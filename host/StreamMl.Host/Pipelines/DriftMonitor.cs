using StreamMl.Engine;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>Drift settings from a spec's <c>drift</c> section. Defaults suit a few thousand rows per second.</summary>
internal sealed record DriftSettings(
    IReadOnlyList<string> Features,
    int ReferenceRows = 2000,
    int WindowRows = 1000,
    int Bins = 10,
    double WarningPsi = 0.1,
    double DriftPsi = 0.25,
    int KeepWindows = 100);

/// <summary>What the drift stage has seen so far; read by the Query service while the stage writes it.</summary>
internal sealed class DriftState(DriftSettings settings)
{
    private readonly object _gate = new();
    private readonly List<DriftWindow> _windows = [];
    private long _alerts;
    private long _referenceRows;

    public DriftSettings Settings { get; } = settings;

    public void SetReference(long rows)
    {
        lock (_gate) _referenceRows = rows;
    }

    public void AddWindow(DriftWindow window, int newAlerts)
    {
        lock (_gate)
        {
            _windows.Add(window);
            if (_windows.Count > Settings.KeepWindows) _windows.RemoveAt(0);
            _alerts += newAlerts;
        }
    }

    public DriftReport Report(string pipeline, int maxWindows)
    {
        lock (_gate)
        {
            var report = new DriftReport { Pipeline = pipeline, ReferenceRows = _referenceRows, Alerts = _alerts, Status = "ok" };
            if (_windows.Count > 0)
            {
                var last = _windows[^1];
                report.Status = last.Status;
                report.Features.AddRange(last.Features.Select(f => f.Clone()));
            }
            var take = maxWindows <= 0 ? _windows.Count : Math.Min(maxWindows, _windows.Count);
            report.Windows.AddRange(_windows.Skip(_windows.Count - take).Select(w => w.Clone()));
            if (_referenceRows < Settings.ReferenceRows) report.Status = "collecting-reference";
            return report;
        }
    }
}

/// <summary>Watches numeric features for drift: the first <see cref="DriftSettings.ReferenceRows"/> rows form the
/// reference (quantile bins, mean, standard deviation); every following window of
/// <see cref="DriftSettings.WindowRows"/> rows is compared with it by the population stability index (PSI) and the
/// shift of the mean in reference standard deviations. A feature whose status turns to drift raises an alert.</summary>
internal sealed class DriftMonitor : IBatchOperator
{
    private readonly DriftSettings _settings;
    private readonly DriftState _state;
    private readonly EventHub _events;
    private readonly string _pipeline;
    private readonly Feature[] _features;
    private int _referenceFilled;
    private bool _hasReference;
    private int _windowRows;
    private long _rowsSeen;
    private long _windowIndex;
    private long _windowStart = long.MaxValue;
    private long _windowEnd = long.MinValue;

    public DriftMonitor(DriftSettings settings, DriftState state, EventHub events, string pipeline)
    {
        _settings = settings;
        _state = state;
        _events = events;
        _pipeline = pipeline;
        _features = [.. settings.Features.Select(f => new Feature(f, settings))];
    }

    public string Name => "drift";

    public Schema Bind(Schema input)
    {
        foreach (var feature in _features)
        {
            feature.Index = input.Require(feature.Name);
            feature.Type = input[feature.Index].Type;
            if (!ColumnTypes.IsNumeric(feature.Type))
                throw new SchemaMismatchException($"drift feature '{feature.Name}' is {ColumnTypes.Name(feature.Type)}; drift is measured on numeric columns");
        }
        return input;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        var times = batch.EventTimes;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            _rowsSeen++;
            if (!_hasReference)
            {
                foreach (var f in _features) f.Reference[_referenceFilled] = Read(batch, f, row);
                if (++_referenceFilled == _settings.ReferenceRows) BuildReference();
                continue;
            }
            foreach (var f in _features)
            {
                var x = Read(batch, f, row);
                if (double.IsNaN(x)) continue;
                f.Count++;
                f.Sum += x;
                f.SumSquares += x * x;
                f.BinCounts[f.BinOf(x)]++;
            }
            _windowStart = Math.Min(_windowStart, times[row]);
            _windowEnd = Math.Max(_windowEnd, times[row]);
            if (++_windowRows == _settings.WindowRows) CloseWindow();
        }
    }

    public void Complete(StageContext context)
    {
        if (_hasReference && _windowRows > 0) CloseWindow();
    }

    private static double Read(ColumnBatch batch, Feature f, int row)
    {
        var column = batch[f.Index];
        if (!column.IsValid(row)) return double.NaN;
        return f.Type switch
        {
            ColumnType.Float32 => column.Values<float>()[row],
            ColumnType.Float64 => column.Values<double>()[row],
            ColumnType.Int32 => column.Values<int>()[row],
            _ => column.Values<long>()[row],
        };
    }

    private void BuildReference()
    {
        foreach (var f in _features) f.BuildReference();
        _hasReference = true;
        _state.SetReference(_referenceFilled);
    }

    private void CloseWindow()
    {
        var window = new DriftWindow
        {
            Index = _windowIndex++,
            FirstRow = _rowsSeen - _windowRows,
            Rows = _windowRows,
            StartMicros = _windowStart == long.MaxValue ? 0 : _windowStart,
            EndMicros = _windowEnd == long.MinValue ? 0 : _windowEnd,
        };
        var worst = 0;
        var alerts = 0;
        foreach (var f in _features)
        {
            var drift = f.Close(_settings);
            window.Features.Add(drift);
            var level = Level(drift.Status);
            worst = Math.Max(worst, level);
            if (level == 2 && f.LastLevel < 2)
            {
                alerts++;
                _events.PublishAlert(new DriftAlert
                {
                    Pipeline = _pipeline,
                    Feature = f.Name,
                    Status = drift.Status,
                    Psi = drift.Psi,
                    MeanShift = drift.MeanShift,
                    Window = window.Index,
                    Message = $"feature '{f.Name}' drifted in window {window.Index}: PSI {drift.Psi:F3} (threshold {_settings.DriftPsi}), " +
                              $"mean {drift.CurrentMean:G4} against reference {drift.ReferenceMean:G4} ({drift.MeanShift:+0.00;-0.00;0.00} sd)",
                });
            }
            f.LastLevel = level;
        }
        window.Status = worst switch { 2 => "drift", 1 => "warning", _ => "ok" };
        _state.AddWindow(window, alerts);
        _windowRows = 0;
        _windowStart = long.MaxValue;
        _windowEnd = long.MinValue;
    }

    private static int Level(string status) => status switch { "drift" => 2, "warning" => 1, _ => 0 };

    private sealed class Feature(string name, DriftSettings settings)
    {
        public readonly string Name = name;
        public readonly double[] Reference = new double[settings.ReferenceRows];
        public readonly long[] BinCounts = new long[settings.Bins];
        public double[] Edges = [];
        public double[] ReferenceShare = [];
        public double ReferenceMean;
        public double ReferenceStd;
        public int Index;
        public ColumnType Type;
        public long Count;
        public double Sum;
        public double SumSquares;
        public int LastLevel;

        public void BuildReference()
        {
            var values = Reference.Where(v => !double.IsNaN(v)).Order().ToArray();
            var bins = BinCounts.Length;
            // Inner edges at the reference quantiles, so each bin holds about 1/bins of the reference.
            Edges = [.. Enumerable.Range(1, bins - 1).Select(i => values.Length == 0 ? 0 : values[(int)((long)i * values.Length / bins)]).Distinct()];
            var counts = new long[bins];
            foreach (var v in values) counts[BinOf(v)]++;
            ReferenceShare = [.. counts.Select(c => values.Length == 0 ? 0 : (double)c / values.Length)];
            ReferenceMean = values.Length == 0 ? 0 : values.Average();
            ReferenceStd = values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - ReferenceMean) * (v - ReferenceMean)) / (values.Length - 1));
        }

        /// <summary>Bin i holds values in (edge[i-1], edge[i]]; below the first edge is bin 0.</summary>
        public int BinOf(double x)
        {
            var edges = Edges;
            int lo = 0, hi = edges.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (x <= edges[mid]) hi = mid;
                else lo = mid + 1;
            }
            return lo;
        }

        public FeatureDrift Close(DriftSettings settings)
        {
            const double floor = 1e-4; // empty bins would make the PSI infinite
            var psi = 0.0;
            for (var b = 0; b < ReferenceShare.Length; b++)
            {
                var expected = Math.Max(ReferenceShare[b], floor);
                var actual = Math.Max(Count == 0 ? 0 : (double)BinCounts[b] / Count, floor);
                psi += (actual - expected) * Math.Log(actual / expected);
            }
            var mean = Count == 0 ? 0 : Sum / Count;
            var variance = Count < 2 ? 0 : Math.Max(0, (SumSquares - Count * mean * mean) / (Count - 1));
            var shift = ReferenceStd > 0 ? (mean - ReferenceMean) / ReferenceStd : 0;
            var status = psi >= settings.DriftPsi ? "drift" : psi >= settings.WarningPsi ? "warning" : "ok";
            var result = new FeatureDrift
            {
                Feature = Name,
                Status = status,
                Psi = psi,
                MeanShift = shift,
                ReferenceMean = ReferenceMean,
                ReferenceStd = ReferenceStd,
                CurrentMean = mean,
                CurrentStd = Math.Sqrt(variance),
                Rows = Count,
            };
            Count = 0;
            Sum = 0;
            SumSquares = 0;
            Array.Clear(BinCounts);
            return result;
        }
    }
}
