using System.Diagnostics;

namespace StreamMl.Engine;

/// <summary>Counters of one pipeline stage. Each is written by the stage's own thread and may be read at any time
/// (readers see a recent value).</summary>
public sealed class StageCounters(string name, StageKind kind)
{
    internal long _rowsIn;
    internal long _rowsOut;
    internal long _batches;
    internal long _busyTicks;
    internal long _waitTicks;
    internal long _idleTicks;
    internal long _errors;
    internal long _rowsRejected;

    /// <summary>For operator and sink stages: the wait time their ring processor measures.</summary>
    internal Func<long>? WaitTicksSource { get; set; }

    /// <summary>Stage name.</summary>
    public string Name { get; } = name;

    /// <summary>Source, operator or sink.</summary>
    public StageKind Kind { get; } = kind;

    /// <summary>Selected rows the stage received.</summary>
    public long RowsIn => Volatile.Read(ref _rowsIn);

    /// <summary>Selected rows the stage passed on (sources: rows produced; sinks: rows written).</summary>
    public long RowsOut => Volatile.Read(ref _rowsOut);

    /// <summary>Batches handled.</summary>
    public long Batches => Volatile.Read(ref _batches);

    /// <summary>Rows the stage sent to the dead-letter sink.</summary>
    public long RowsRejected => Volatile.Read(ref _rowsRejected);

    /// <summary>Batches on which the stage threw.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Time spent working: an operator's or sink's handler, or a source's fill minus the time it reported
    /// waiting for input (<see cref="Idle"/>).</summary>
    public TimeSpan Busy => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _busyTicks));

    /// <summary>Sources: time spent waiting for input inside a fill, as the source reported it through
    /// <see cref="SourceContext.WaitingForInput"/> (an idle gRPC ingest source, a Kafka poll with nothing new). Zero for
    /// operators and sinks, whose input wait is <see cref="Waiting"/>.</summary>
    public TimeSpan Idle => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _idleTicks));

    /// <summary>Time spent waiting: for input (operators and sinks) or for ring capacity, i.e. backpressure (the source).</summary>
    public TimeSpan Waiting => Stopwatch.GetElapsedTime(0, WaitTicksSource?.Invoke() ?? Volatile.Read(ref _waitTicks));

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Kind} {Name}: in={RowsIn} out={RowsOut} batches={Batches} rejected={RowsRejected} errors={Errors} busy={Busy.TotalMilliseconds:F0}ms waiting={Waiting.TotalMilliseconds:F0}ms idle={Idle.TotalMilliseconds:F0}ms";
}

/// <summary>The role of a pipeline stage.</summary>
public enum StageKind
{
    /// <summary>The source's producer loop.</summary>
    Source,
    /// <summary>An operator stage.</summary>
    Operator,
    /// <summary>A sink stage.</summary>
    Sink,
}
