using System.Diagnostics;

namespace StreamMl.Engine.Ring;

/// <summary>Consumes ring entries. Implement it on a struct and the processor's inner loop calls it without a virtual call.</summary>
public interface IEventHandler<in T>
{
    /// <summary>Handles one entry. <paramref name="endOfBatch"/> is true for the last of the entries that were available
    /// together, the moment to flush anything buffered.</summary>
    void OnEvent(T data, long sequence, bool endOfBatch);

    /// <summary>Nothing arrived within the processor's timeout (a chance to flush or checkpoint). The default does nothing.</summary>
    void OnTimeout(long sequence) { }

    /// <summary>Called on the processor's thread before the first entry.</summary>
    void OnStart() { }

    /// <summary>Called on the processor's thread after the last entry, once halted.</summary>
    void OnShutdown() { }
}

/// <summary>Decides what happens when a handler throws.</summary>
public interface IExceptionHandler<in T>
{
    /// <summary>The handler threw on <paramref name="data"/>. Return normally to skip the entry and go on; throw to stop the processor.</summary>
    void HandleEventException(Exception exception, long sequence, T data);
}

/// <summary>Stops the processor on the first exception: the processor's <see cref="IEventProcessor.Fault"/> holds it.</summary>
public sealed class FatalExceptionHandler<T> : IExceptionHandler<T>
{
    /// <inheritdoc/>
    public void HandleEventException(Exception exception, long sequence, T data) =>
        throw new PipelineException($"handler failed at sequence {sequence}: {exception.Message}", exception);
}

/// <summary>A running consumer of a ring.</summary>
public interface IEventProcessor
{
    /// <summary>The consumer's progress: every entry up to it has been handled.</summary>
    Sequence Sequence { get; }

    /// <summary>Runs the processing loop on the calling thread until halted.</summary>
    void Run();

    /// <summary>Asks the loop to stop after the entries it is handling.</summary>
    void Halt();

    /// <summary>True while the loop runs.</summary>
    bool IsRunning { get; }

    /// <summary>The exception that stopped the loop, if one did.</summary>
    Exception? Fault { get; }
}

/// <summary>Waits on a barrier and hands every available entry to a handler at once, then moves its sequence past all
/// of them with one write (batching amortises the cross-core traffic; LMAX's BatchEventProcessor).</summary>
/// <typeparam name="T">Entry type.</typeparam>
/// <typeparam name="THandler">Handler type: a struct for a devirtualised inner loop.</typeparam>
public sealed class BatchEventProcessor<T, THandler> : IEventProcessor
    where T : class
    where THandler : IEventHandler<T>
{
    private readonly RingBuffer<T> _ring;
    private readonly SequenceBarrier _barrier;
    private readonly IExceptionHandler<T> _exceptionHandler;
    private readonly TimeSpan _timeout;
    private THandler _handler;
    private volatile int _running;

    /// <summary>Creates a processor of <paramref name="ring"/> behind <paramref name="barrier"/>.</summary>
    public BatchEventProcessor(RingBuffer<T> ring, SequenceBarrier barrier, THandler handler,
        IExceptionHandler<T>? exceptionHandler = null, TimeSpan? timeout = null)
    {
        _ring = ring;
        _barrier = barrier;
        _handler = handler;
        _exceptionHandler = exceptionHandler ?? new FatalExceptionHandler<T>();
        _timeout = timeout ?? TimeSpan.FromMilliseconds(100);
    }

    /// <inheritdoc/>
    public Sequence Sequence { get; } = new();

    /// <summary>The handler (a copy when it is a struct).</summary>
    public THandler Handler => _handler;

    /// <inheritdoc/>
    public bool IsRunning => _running == 1;

    /// <inheritdoc/>
    public Exception? Fault { get; private set; }

    /// <summary>Time spent handling entries, in <see cref="Stopwatch"/> ticks.</summary>
    public long BusyTicks { get; private set; }

    /// <summary>Time spent waiting for entries, in <see cref="Stopwatch"/> ticks.</summary>
    public long WaitTicks { get; private set; }

    /// <inheritdoc/>
    public void Halt()
    {
        _running = 0;
        _barrier.Alert();
    }

    /// <inheritdoc/>
    public void Run()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new PipelineException("the processor is already running");
        _barrier.ClearAlert();
        var waitStrategy = _ring.WaitStrategy;
        try
        {
            _handler.OnStart();
            var next = Sequence.Value + 1;
            while (true)
            {
                try
                {
                    var waitStart = Stopwatch.GetTimestamp();
                    var available = _barrier.WaitFor(next, _timeout);
                    var busyStart = Stopwatch.GetTimestamp();
                    WaitTicks += busyStart - waitStart;
                    if (available < next)
                    {
                        _handler.OnTimeout(Sequence.Value);
                        continue;
                    }
                    while (next <= available)
                    {
                        var entry = _ring[next];
                        try
                        {
                            _handler.OnEvent(entry, next, next == available);
                        }
                        catch (Exception ex) when (ex is not AlertException)
                        {
                            _exceptionHandler.HandleEventException(ex, next, entry);
                        }
                        next++;
                    }
                    Sequence.Value = available;
                    if (waitStrategy.IsBlocking) waitStrategy.SignalAllWhenBlocking();
                    BusyTicks += Stopwatch.GetTimestamp() - busyStart;
                }
                catch (AlertException)
                {
                    if (_running == 0) break;
                }
            }
        }
        catch (Exception ex)
        {
            Fault = ex;
        }
        finally
        {
            try { _handler.OnShutdown(); }
            catch (Exception ex) { Fault ??= ex; }
            _running = 0;
        }
    }
}
