using System.Diagnostics;

namespace StreamMl.Engine;

/// <summary>Time a source spends waiting for input, from <see cref="SourceContext.WaitingForInput"/> until
/// <see cref="Dispose"/>. The pipeline counts it as the source stage's <see cref="StageCounters.Idle"/> time instead of
/// <see cref="StageCounters.Busy"/>. A default instance (a source used outside a pipeline) measures nothing.</summary>
public readonly struct IdleScope : IDisposable
{
    private readonly StageCounters? _counters;
    private readonly long _start;

    internal IdleScope(StageCounters? counters)
    {
        _counters = counters;
        _start = counters is null ? 0 : Stopwatch.GetTimestamp();
    }

    /// <summary>Ends the wait and adds its duration to the stage's idle time.</summary>
    public void Dispose()
    {
        // The continuation after an await may run on another thread than the producer's: add atomically.
        if (_counters is not null) Interlocked.Add(ref _counters._idleTicks, Stopwatch.GetTimestamp() - _start);
    }
}
