using System.Collections.Concurrent;
using System.Threading.Channels;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>Fans a pipeline's scored rows and alerts out to its subscribers. Each subscriber has a bounded queue; when
/// it is full the event is dropped for that subscriber only and counted, so a slow client never holds the pipeline back.</summary>
internal sealed class EventHub
{
    private readonly ConcurrentDictionary<long, Subscriber> _subscribers = new();
    private long _nextId;
    private int _rowSubscribers;

    /// <summary>True when at least one subscriber wants rows; sinks skip building row events otherwise.</summary>
    public bool HasRowSubscribers => Volatile.Read(ref _rowSubscribers) > 0;

    public long AlertsPublished;

    /// <summary>Current subscriptions.</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>Raised on the drift stage's thread for every alert (logging, metrics).</summary>
    public event Action<DriftAlert>? AlertRaised;

    /// <summary>Registers a subscriber; dispose the result to leave.</summary>
    public Subscriber Subscribe(bool rows, IReadOnlyList<string> columns, int capacity = 256)
    {
        var id = Interlocked.Increment(ref _nextId);
        var subscriber = new Subscriber(this, id, rows, columns, capacity);
        _subscribers[id] = subscriber;
        if (rows) Interlocked.Increment(ref _rowSubscribers);
        return subscriber;
    }

    public void PublishRows(Func<IReadOnlyList<string>, RowSet> build)
    {
        foreach (var subscriber in _subscribers.Values)
            if (subscriber.WantsRows) subscriber.Offer(new PipelineEvent { Rows = build(subscriber.Columns) });
    }

    public void PublishAlert(DriftAlert alert)
    {
        Interlocked.Increment(ref AlertsPublished);
        AlertRaised?.Invoke(alert);
        foreach (var subscriber in _subscribers.Values) subscriber.Offer(new PipelineEvent { Alert = alert });
    }

    /// <summary>Ends every subscription (the pipeline was deleted).</summary>
    public void CompleteAll()
    {
        foreach (var subscriber in _subscribers.Values) subscriber.Complete();
    }

    private void Remove(Subscriber subscriber)
    {
        if (_subscribers.TryRemove(subscriber.Id, out _) && subscriber.WantsRows) Interlocked.Decrement(ref _rowSubscribers);
    }

    /// <summary>One subscription: read its events from <see cref="Reader"/>.</summary>
    internal sealed class Subscriber : IDisposable
    {
        private readonly EventHub _hub;
        private readonly Channel<PipelineEvent> _channel;
        private long _dropped;

        public Subscriber(EventHub hub, long id, bool rows, IReadOnlyList<string> columns, int capacity)
        {
            _hub = hub;
            Id = id;
            WantsRows = rows;
            Columns = columns;
            _channel = Channel.CreateBounded<PipelineEvent>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        public long Id { get; }

        public bool WantsRows { get; }

        public IReadOnlyList<string> Columns { get; }

        public ChannelReader<PipelineEvent> Reader => _channel.Reader;

        /// <summary>Events lost so far because the queue was full.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        public void Offer(PipelineEvent e)
        {
            e.Dropped = Dropped;
            if (!_channel.Writer.TryWrite(e)) Interlocked.Increment(ref _dropped);
        }

        public void Complete() => _channel.Writer.TryComplete();

        public void Dispose()
        {
            _hub.Remove(this);
            Complete();
        }
    }
}
