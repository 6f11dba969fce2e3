using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace StreamMl.Engine.Ring;

/// <summary>How a consumer waits until a sequence is available. <see cref="WaitFor"/> returns the highest
/// sequence it saw available (which may be below the one asked for when the timeout passes), and
/// throws <see cref="AlertException"/> when the barrier is alerted.</summary>
public interface IWaitStrategy
{
    /// <summary>Waits until <paramref name="dependent"/> reaches <paramref name="sequence"/>, the barrier is alerted, or
    /// the timeout passes.</summary>
    long WaitFor(long sequence, Sequence cursor, IDependentSequence dependent, SequenceBarrier barrier, TimeSpan timeout);

    /// <summary>Wakes blocked waiters; called after every publish and every consumer advance when <see cref="IsBlocking"/>.</summary>
    void SignalAllWhenBlocking();

    /// <summary>True when waiters block and must be signalled.</summary>
    bool IsBlocking { get; }
}

/// <summary>The wait strategies.</summary>
public static class WaitStrategy
{
    /// <summary>Creates a strategy of the given kind.</summary>
    public static IWaitStrategy Create(WaitStrategyKind kind) => kind switch
    {
        WaitStrategyKind.BusySpin => new BusySpinWaitStrategy(),
        WaitStrategyKind.Yielding => new YieldingWaitStrategy(),
        WaitStrategyKind.Sleeping => new SleepingWaitStrategy(),
        WaitStrategyKind.Blocking => new BlockingWaitStrategy(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

/// <summary>Spins on the sequence. Lowest latency; keeps a core busy while waiting.</summary>
public sealed class BusySpinWaitStrategy : IWaitStrategy
{
    /// <inheritdoc/>
    public bool IsBlocking => false;

    /// <inheritdoc/>
    public long WaitFor(long sequence, Sequence cursor, IDependentSequence dependent, SequenceBarrier barrier, TimeSpan timeout)
    {
        long available;
        var started = 0L;
        var spins = 0;
        while ((available = dependent.Value) < sequence)
        {
            barrier.CheckAlert();
            Thread.SpinWait(1);
            if ((++spins & 0xFFFF) == 0 && TimedOut(ref started, timeout)) return available;
        }
        return available;
    }

    /// <inheritdoc/>
    public void SignalAllWhenBlocking() { }

    internal static bool TimedOut(ref long started, TimeSpan timeout)
    {
        var now = Stopwatch.GetTimestamp();
        if (started == 0) { started = now; return false; }
        return Stopwatch.GetElapsedTime(started, now) >= timeout;
    }
}

/// <summary>Spins 100 times, then yields the thread each time round: low latency without starving other threads.</summary>
public sealed class YieldingWaitStrategy : IWaitStrategy
{
    private const int SpinTries = 100;

    /// <inheritdoc/>
    public bool IsBlocking => false;

    /// <inheritdoc/>
    public long WaitFor(long sequence, Sequence cursor, IDependentSequence dependent, SequenceBarrier barrier, TimeSpan timeout)
    {
        long available;
        var counter = SpinTries;
        var started = 0L;
        while ((available = dependent.Value) < sequence)
        {
            barrier.CheckAlert();
            if (counter > 0) { counter--; Thread.SpinWait(1); continue; }
            Thread.Yield();
            if (BusySpinWaitStrategy.TimedOut(ref started, timeout)) return available;
        }
        return available;
    }

    /// <inheritdoc/>
    public void SignalAllWhenBlocking() { }
}

/// <summary>Spins, then yields, then sleeps 1 ms at a time: little CPU when idle, about a millisecond to wake.</summary>
public sealed class SleepingWaitStrategy : IWaitStrategy
{
    private const int Retries = 200;

    /// <inheritdoc/>
    public bool IsBlocking => false;

    /// <inheritdoc/>
    public long WaitFor(long sequence, Sequence cursor, IDependentSequence dependent, SequenceBarrier barrier, TimeSpan timeout)
    {
        long available;
        var counter = Retries;
        var started = 0L;
        while ((available = dependent.Value) < sequence)
        {
            barrier.CheckAlert();
            if (counter > 100) { counter--; Thread.SpinWait(1); }
            else if (counter > 0) { counter--; Thread.Yield(); }
            else
            {
                Thread.Sleep(1);
                if (BusySpinWaitStrategy.TimedOut(ref started, timeout)) return available;
            }
        }
        return available;
    }

    /// <inheritdoc/>
    public void SignalAllWhenBlocking() { }
}

/// <summary>Blocks on a monitor until a producer publishes or a consumer advances. Uses no CPU while idle; a signal
/// costs a lock only when somebody is waiting.</summary>
public sealed class BlockingWaitStrategy : IWaitStrategy
{
    private readonly object _gate = new();
    private int _waiters;

    /// <inheritdoc/>
    public bool IsBlocking => true;

    /// <inheritdoc/>
    public long WaitFor(long sequence, Sequence cursor, IDependentSequence dependent, SequenceBarrier barrier, TimeSpan timeout)
    {
        long available;
        // A few spins first: most waits in a busy pipeline are shorter than a context switch.
        for (var spin = 0; spin < 64; spin++)
        {
            if ((available = dependent.Value) >= sequence) return available;
            Thread.SpinWait(4);
        }
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while ((available = dependent.Value) < sequence)
        {
            barrier.CheckAlert();
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0) return available;
            lock (_gate)
            {
                Interlocked.Increment(ref _waiters);
                try
                {
                    // Re-check under the lock: a signal sent between the check above and Wait would be lost.
                    if (dependent.Value < sequence && !barrier.IsAlerted)
                        Monitor.Wait(_gate, TimeSpan.FromSeconds(Math.Min(remaining / (double)Stopwatch.Frequency, 0.05)));
                }
                finally
                {
                    Interlocked.Decrement(ref _waiters);
                }
            }
        }
        return available;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SignalAllWhenBlocking()
    {
        // Full fence: the sequence the caller just wrote must be visible before we read the waiter count, or a
        // waiter that checked the sequence just before the write could sleep through this signal.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waiters) == 0) return;
        SignalSlow();
    }

    /// <summary>Blocks the caller until the next signal or <paramref name="timeout"/>; producers use it to wait for
    /// ring capacity without spinning.</summary>
    public void WaitForSignal(TimeSpan timeout)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _waiters);
            try { Monitor.Wait(_gate, timeout); }
            finally { Interlocked.Decrement(ref _waiters); }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SignalSlow()
    {
        lock (_gate) Monitor.PulseAll(_gate);
    }
}
