using StreamMl.Engine;

namespace StreamMl.Connectors.Synthetic;

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
}

/// <summary>A generated stream of IoT sensor readings: per device a daily seasonal signal plus Gaussian noise, with a
/// device id (string), an event timestamp and <see cref="SensorSourceOptions.Features"/> float readings. The row index
/// is the source offset (partition 0), so replays from a committed offset are exact.</summary>
public sealed class SensorSource : IBatchSource
{
    private readonly SensorSourceOptions _options;
    private readonly Random _random;
    private readonly string[] _deviceNames;
    private long _next;
    private long _committed;
    private int[]? _featureColumns;
    private int _deviceColumn;
    private int _timeColumn;

    /// <summary>Creates the source.</summary>
    public SensorSource(SensorSourceOptions? options = null)
    {
        _options = options ?? new SensorSourceOptions();
        _random = new Random(_options.Seed);
        _deviceNames = Enumerable.Range(0, _options.Devices).Select(i => $"device-{i:D4}").ToArray();
        var fields = new List<Field>
        {
            new("device", ColumnType.String, Nullable: false),
            new("timestamp", ColumnType.Timestamp, Nullable: false),
        };
        for (var f = 0; f < _options.Features; f++) fields.Add(new Field($"f{f}", ColumnType.Float32));
        Schema = new Schema(fields);
    }

    /// <inheritdoc/>
    public string Name => "sensors";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>Highest offset committed by the pipeline plus one: where a restart would resume.</summary>
    public long CommittedOffset => Interlocked.Read(ref _committed);

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc/>
    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (_featureColumns is null)
        {
            _featureColumns = Enumerable.Range(0, _options.Features).Select(f => batch.Schema.Require($"f{f}")).ToArray();
            _deviceColumn = batch.Schema.Require("device");
            _timeColumn = batch.Schema.Require("timestamp");
        }
        var total = _options.TotalRows ?? long.MaxValue;
        var rows = (int)Math.Min(batch.Capacity, total - _next);
        var devices = batch[_deviceColumn];
        var deviceCodes = devices.Values<int>();
        var times = batch[_timeColumn].Values<long>();
        var eventTimes = batch.EventTimesBuffer;
        var offsets = batch.RowOffsetsBuffer;
        var partitions = batch.RowPartitionsBuffer;
        var dictionary = devices.Dictionary!;
        var startMicros = (_options.StartTime - DateTime.UnixEpoch).Ticks / 10;
        var stepMicros = _options.Interval.Ticks / 10;
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
        }
        for (var f = 0; f < _featureColumns.Length; f++)
        {
            var values = batch[_featureColumns[f]].Values<float>();
            for (var row = 0; row < rows; row++)
            {
                var index = _next + row;
                var device = index % _options.Devices;
                var dayPhase = (index * stepMicros % 86_400_000_000L) / 86_400_000_000.0;
                var seasonal = Math.Sin(2 * Math.PI * dayPhase + device * 0.1 + f);
                values[row] = (float)(10 * (f + 1) + 3 * seasonal + Gaussian());
            }
        }
        batch.Length = rows;
        if (rows > 0)
        {
            batch.Positions.Add(0, _next, _next + rows);
            batch.Watermark = startMicros + (_next + rows - 1) * stepMicros;
        }
        _next += rows;
        return ValueTask.FromResult(_next < total);
    }

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
