using System.Threading.Channels;
using StreamMl.Engine;
using StreamMl.Operators.Monitoring.Internal;

namespace StreamMl.Operators.Monitoring;

/// <summary>The alerts of one or more monitors, as events (<see cref="Raised"/>) and as rows: <see cref="CreateSource"/>
/// returns a source of alert rows (<see cref="Schema"/>) that any pipeline can write to any sink, e.g.
/// <c>Pipeline.From(alerts.CreateSource()).To(parquetSink)</c>. Thread-safe.</summary>
public sealed class AlertStream
{
    private readonly Lock _gate = new();
    private Channel<Alert>? _rows;
    private long _published;
    private long _dropped;
    private long _suppressed;
    private bool _completed;

    /// <summary>The columns of an alert row.</summary>
    public static Schema Schema { get; } = new(
        new Field("kind", ColumnType.String, Nullable: false),
        new Field("key", ColumnType.String, Nullable: false),
        new Field("event_time", ColumnType.Timestamp, Nullable: false),
        new Field("column", ColumnType.String, Nullable: false),
        new Field("detector", ColumnType.String, Nullable: false),
        new Field("statistic", ColumnType.Float64),
        new Field("threshold", ColumnType.Float64),
        new Field("severity", ColumnType.String, Nullable: false),
        new Field("message", ColumnType.String, Nullable: false),
        new Field("model", ColumnType.String, Nullable: false),
        new Field("model_version", ColumnType.String, Nullable: false),
        new Field("monitor", ColumnType.String, Nullable: false));

    /// <summary>Raised for every alert, on the thread of the operator that raised it (keep handlers short).</summary>
    public event Action<Alert>? Raised;

    /// <summary>Alerts published so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Alerts the row source lost because it was <see cref="CreateSource"/>'s capacity behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Detections the publishers' cooldowns suppressed (they call <see cref="NoteSuppressed"/>).</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    /// <summary>Counts a detection that a cooldown kept from becoming an alert.</summary>
    public void NoteSuppressed() => Interlocked.Increment(ref _suppressed);

    /// <summary>Hands an alert to the listeners and to the row source.</summary>
    public void Publish(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        Interlocked.Increment(ref _published);
        Raised?.Invoke(alert);
        if (_rows is { } rows && !rows.Writer.TryWrite(alert)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>A source of alert rows, from now on, that ends after <see cref="Complete"/> (after which a new source
    /// may be created, for the next run of a restarted pipeline). Alerts wait in a queue of
    /// <paramref name="capacity"/>; when it is full (the sink is that far behind) further alerts are counted in
    /// <see cref="Dropped"/>, so a slow sink never stalls the pipeline being watched. One source per stream.</summary>
    public IBatchSource CreateSource(int capacity = 65_536, string name = "alerts")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        lock (_gate)
        {
            if (_rows is not null && !_rows.Reader.Completion.IsCompleted && !_completed)
                throw new InvalidOperationException("this alert stream already has a row source; complete it first");
            _completed = false;
            _rows = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of waiting
            });
            return new AlertSource(name, _rows.Reader);
        }
    }

    /// <summary>No more alerts: the row source ends once it has delivered the queued ones.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _rows?.Writer.TryComplete();
            _completed = true;
        }
    }
}
