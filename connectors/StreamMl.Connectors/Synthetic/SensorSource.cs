using System.Diagnostics;
using StreamMl.Engine;

namespace StreamMl.Connectors.Synthetic;

/// <summary>What goes wrong with an injected fault.</summary>
[Flags]
public enum SensorFaultKinds
{
    /// <summary>No faults.</summary>
    None = 0,
    /// <summary>The reading is missing (null).</summary>
    Missing = 1,
    /// <summary>The reading jumps far out of range (baseline plus <see cref="SensorSourceOptions.SpikeSize"/> times the noise).</summary>
    Spike = 2,
    /// <summary>The sensor is stuck: it repeats its previous reading.</summary>
    Stuck = 4,
    /// <summary>The reading is not a number (NaN), as a broken ADC sends.</summary>
    NotANumber = 8,
    /// <summary>All of the above.</summary>
    All = Missing | Spike | Stuck | NotANumber,
}

/// <summary>A change of the data-generating process from a given row on: a mean shift and a noise scale that ramp in
/// linearly, on some or all features. Use it to exercise drift detectors.</summary>
public sealed class SensorDrift
{
    /// <summary>First row (0-based stream index) affected. Default 0.</summary>
    public long StartRow { get; set; }

    /// <summary>Rows over which the change ramps from nothing to full; 0 means a step change. Default 0.</summary>
    public long RampRows { get; set; }

    /// <summary>Added to the mean once fully in effect (in reading units). Default 5.</summary>
    public double MeanShift { get; set; } = 5;

    /// <summary>Multiplies the noise once fully in effect. Default 1 (unchanged).</summary>
    public double NoiseScale { get; set; } = 1;

    /// <summary>Feature indexes affected; null (default) for all.</summary>
    public IReadOnlyList<int>? Features { get; set; }
}

/// <summary>Options of the <see cref="SensorSource"/>.</summary>
public sealed class SensorSourceOptions
{
    /// <summary>Number of simulated devices; rows cycle through them. Default 100.</summary>
    public int Devices { get; set; } = 100;

    /// <summary>Numeric readings per row (columns <c>f0</c>, <c>f1</c>, ...). Default 8.</summary>
    public int Features { get; set; } = 8;

    /// <summary>Rows to produce before the source is exhausted; null for an unbounded stream. Default 1,000,000.</summary>
    public long? TotalRows { get; set; } = 1_000_000;

    /// <summary>Seed of the noise generator: equal seeds give equal streams. Default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Event time of the first row. Default 2026-01-01T00:00:00Z.</summary>
    public DateTime StartTime { get; set; } = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Event-time step between consecutive rows. Default 10 ms.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Wall-clock rate: at most this many rows per second are emitted (a live feed); null (default) emits as
    /// fast as the pipeline takes them.</summary>
    public double? RowsPerSecond { get; set; }

    /// <summary>Period of the seasonal signal, in event time. Default one day.</summary>
    public TimeSpan SeasonalPeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Amplitude of the seasonal sine. Default 3.</summary>
    public double SeasonalAmplitude { get; set; } = 3;

    /// <summary>Standard deviation of the Gaussian noise. Default 1.</summary>
    public double NoiseStdDev { get; set; } = 1;

    /// <summary>Probability that one reading is faulty. Default 0.</summary>
    public double FaultRate { get; set; }

    /// <summary>Which faults are drawn (uniformly among the chosen kinds). Default all.</summary>
    public SensorFaultKinds FaultKinds { get; set; } = SensorFaultKinds.All;

    /// <summary>How far a spike lands from the baseline, in noise standard deviations. Default 50.</summary>
    public double SpikeSize { get; set; } = 50;

    /// <summary>Adds a string column <c>fault</c> naming the faults of the row ("" when clean), as ground truth for
    /// validation and anomaly tests. Default false.</summary>
    public bool LabelFaults { get; set; }

    /// <summary>A change of the process from some row on; null (default) for none.</summary>
    public SensorDrift? Drift { get; set; }
}

/// <summary>A generated stream of IoT sensor readings: per device a seasonal signal plus Gaussian noise, with a device
/// id (string), an event timestamp and <see cref="SensorSourceOptions.Features"/> float readings, optionally paced to a
/// wall-clock rate, with injected faults (missing, spikes, stuck sensors, NaN) and drift (a ramped mean shift and noise
/// change). Reading f of device d at row i is <c>10·(f+1) + A·sin(2π·t/P + 0.1·d + f) + σ·N(0,1)</c> plus drift. Faults
/// are drawn from a second generator, so enabling them leaves the clean signal unchanged. The row index is the source
/// offset (partition 0), so replays from a committed offset are exact.</summary>
public sealed class SensorSource : IBatchSource
{
    private const string FaultColumn = "fault";
    private static readonly string[] s_faultNames = ["missing", "spike", "stuck", "nan"];

    private readonly SensorSourceOptions _options;
    private readonly Random _random;
    private readonly Random _faults;
    private readonly string[] _deviceNames;
    private readonly bool[] _driftFeature;
    private readonly float[] _lastValue;
    private readonly SensorFaultKinds[] _kinds;
    private long _next;
    private long _committed;
    private int[]? _featureColumns;
    private int _deviceColumn;
    private int _timeColumn;
    private int _faultColumn = -1;
    private long _startedAt;
    private SensorFaultKinds[] _rowFaults = [];

    /// <summary>Creates the source.</summary>
    public SensorSource(SensorSourceOptions? options = null)
    {
        _options = options ?? new SensorSourceOptions();
        if (_options.Devices < 1 || _options.Features < 1) throw new ArgumentOutOfRangeException(nameof(options), "Devices and Features must be at least 1");
        if (_options.FaultRate is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(options), "FaultRate must be between 0 and 1");
        if (_options.RowsPerSecond is <= 0) throw new ArgumentOutOfRangeException(nameof(options), "RowsPerSecond must be positive");
        _random = new Random(_options.Seed);
        _faults = new Random(unchecked(_options.Seed * 31 + 7));
        _deviceNames = Enumerable.Range(0, _options.Devices).Select(i => $"device-{i:D4}").ToArray();
        _driftFeature = new bool[_options.Features];
        if (_options.Drift is { } drift)
            for (var f = 0; f < _options.Features; f++) _driftFeature[f] = drift.Features is null || drift.Features.Contains(f);
        _lastValue = new float[_options.Devices * _options.Features];
        Array.Fill(_lastValue, float.NaN);
        _kinds = Enum.GetValues<SensorFaultKinds>().Where(k => k is not (SensorFaultKinds.None or SensorFaultKinds.All) && _options.FaultKinds.HasFlag(k)).ToArray();
        var fields = new List<Field>
        {
            new("device", ColumnType.String, Nullable: false),
            new("timestamp", ColumnType.Timestamp, Nullable: false),
        };
        for (var f = 0; f < _options.Features; f++) fields.Add(new Field($"f{f}", ColumnType.Float32));
        if (_options.LabelFaults) fields.Add(new Field(FaultColumn, ColumnType.String, Nullable: false));
        Schema = new Schema(fields);
    }

    /// <inheritdoc/>
    public string Name => "sensors";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>Highest offset committed by the pipeline plus one: where a restart would resume.</summary>
    public long CommittedOffset => Interlocked.Read(ref _committed);

    /// <summary>Rows produced so far.</summary>
    public long RowsProduced => _next;

    /// <summary>The clean expected value (baseline plus season plus drift, without noise) of feature <paramref name="feature"/>
    /// at row <paramref name="index"/>: the reference the tests and demos compare with.</summary>
    public double Expected(long index, int feature)
    {
        var device = index % _options.Devices;
        var stepMicros = _options.Interval.Ticks / 10;
        var periodMicros = Math.Max(1, _options.SeasonalPeriod.Ticks / 10);
        var phase = (index * stepMicros % periodMicros) / (double)periodMicros;
        var seasonal = _options.SeasonalAmplitude * Math.Sin(2 * Math.PI * phase + device * 0.1 + feature);
        return 10 * (feature + 1) + seasonal + DriftWeight(index, feature) * (_options.Drift?.MeanShift ?? 0);
    }

    private double DriftWeight(long index, int feature)
    {
        if (_options.Drift is not { } drift || !_driftFeature[feature] || index < drift.StartRow) return 0;
        if (drift.RampRows <= 0) return 1;
        return Math.Min(1.0, (index - drift.StartRow + 1) / (double)drift.RampRows);
    }

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _startedAt = Stopwatch.GetTimestamp();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (_featureColumns is null)
        {
            _featureColumns = Enumerable.Range(0, _options.Features).Select(f => batch.Schema.Require($"f{f}")).ToArray();
            _deviceColumn = batch.Schema.Require("device");
            _timeColumn = batch.Schema.Require("timestamp");
            if (_options.LabelFaults) _faultColumn = batch.Schema.Require(FaultColumn, ColumnType.String);
            _rowFaults = new SensorFaultKinds[batch.Capacity];
            if (_startedAt == 0) _startedAt = Stopwatch.GetTimestamp();
        }
        var total = _options.TotalRows ?? long.MaxValue;
        var rows = (int)Math.Min(batch.Capacity, total - _next);
        if (_options.RowsPerSecond is { } rate)
        {
            // Pace: emit no more rows than the rate allows for the time elapsed; wait (at most 100 ms) when ahead.
            var allowed = (long)(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds * rate) - _next;
            if (allowed < 1)
            {
                var wait = TimeSpan.FromSeconds((1 - allowed) / rate);
                await Task.Delay(wait < TimeSpan.FromMilliseconds(100) ? wait : TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                allowed = (long)(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds * rate) - _next;
            }
            rows = (int)Math.Clamp(allowed, 0, rows);
        }
        Generate(batch, rows);
        return _next < total;
    }

    private void Generate(ColumnBatch batch, int rows)
    {
        var devices = batch[_deviceColumn];
        var deviceCodes = devices.Values<int>();
        var times = batch[_timeColumn].Values<long>();
        var eventTimes = batch.EventTimesBuffer;
        var offsets = batch.RowOffsetsBuffer;
        var partitions = batch.RowPartitionsBuffer;
        var dictionary = devices.Dictionary!;
        var startMicros = (_options.StartTime - DateTime.UnixEpoch).Ticks / 10;
        var stepMicros = _options.Interval.Ticks / 10;
        var periodMicros = Math.Max(1, _options.SeasonalPeriod.Ticks / 10);
        for (var row = 0; row < rows; row++)
        {
            var index = _next + row;
            var device = (int)(index % _options.Devices);
            deviceCodes[row] = dictionary.GetOrAdd(_deviceNames[device]);
            var micros = startMicros + index * stepMicros;
            times[row] = micros;
            eventTimes[row] = micros;
            offsets[row] = index;
            partitions[row] = 0;
            _rowFaults[row] = SensorFaultKinds.None;
        }
        var faulty = _options.FaultRate > 0 && _kinds.Length > 0;
        for (var f = 0; f < _featureColumns!.Length; f++)
        {
            var column = batch[_featureColumns[f]];
            var values = column.Values<float>();
            for (var row = 0; row < rows; row++)
            {
                var index = _next + row;
                var device = index % _options.Devices;
                var dayPhase = (index * stepMicros % periodMicros) / (double)periodMicros;
                var seasonal = Math.Sin(2 * Math.PI * dayPhase + device * 0.1 + f);
                var drift = DriftWeight(index, f);
                var noiseScale = drift == 0 ? 1 : 1 + drift * ((_options.Drift!.NoiseScale) - 1);
                var shift = drift * (_options.Drift?.MeanShift ?? 0);
                var value = (float)(10 * (f + 1) + _options.SeasonalAmplitude * seasonal + shift + _options.NoiseStdDev * noiseScale * Gaussian());
                var slot = (int)device * _featureColumns.Length + f;
                if (faulty && _faults.NextDouble() < _options.FaultRate)
                {
                    var kind = _kinds[_faults.Next(_kinds.Length)];
                    _rowFaults[row] |= kind;
                    switch (kind)
                    {
                        case SensorFaultKinds.Missing:
                            column.SetNull(row);
                            values[row] = 0;
                            continue;
                        case SensorFaultKinds.Spike:
                            value = (float)(10 * (f + 1) + (_faults.Next(2) == 0 ? 1 : -1) * _options.SpikeSize * Math.Max(_options.NoiseStdDev, 1e-3));
                            break;
                        case SensorFaultKinds.Stuck:
                            if (!float.IsNaN(_lastValue[slot])) value = _lastValue[slot];
                            break;
                        case SensorFaultKinds.NotANumber:
                            value = float.NaN;
                            break;
                    }
                }
                column.SetValid(row);
                values[row] = value;
                if (!float.IsNaN(value)) _lastValue[slot] = value;
            }
        }
        if (_faultColumn >= 0)
        {
            var column = batch[_faultColumn];
            var codes = column.Values<int>();
            for (var row = 0; row < rows; row++) codes[row] = column.Dictionary!.GetOrAdd(FaultLabel(_rowFaults[row]));
        }
        batch.Length = rows;
        if (rows > 0)
        {
            batch.Positions.Add(0, _next, _next + rows);
            batch.Watermark = startMicros + (_next + rows - 1) * stepMicros;
        }
        _next += rows;
    }

    private static string FaultLabel(SensorFaultKinds kinds) => kinds switch
    {
        SensorFaultKinds.None => "",
        SensorFaultKinds.Missing => s_faultNames[0],
        SensorFaultKinds.Spike => s_faultNames[1],
        SensorFaultKinds.Stuck => s_faultNames[2],
        SensorFaultKinds.NotANumber => s_faultNames[3],
        _ => string.Join('+', Enumerable.Range(0, 4).Where(i => kinds.HasFlag((SensorFaultKinds)(1 << i))).Select(i => s_faultNames[i])),
    };

    /// <inheritdoc/>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        foreach (var range in ranges)
            if (range.End > Interlocked.Read(ref _committed)) Interlocked.Exchange(ref _committed, range.End);
    }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) => $"sensors row {offset}";

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private double Gaussian()
    {
        // Box–Muller: two uniforms give one standard normal value.
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
