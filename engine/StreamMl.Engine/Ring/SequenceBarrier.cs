using System.Runtime.CompilerServices;

namespace StreamMl.Engine.Ring;

/// <summary>Thrown inside a wait when the barrier is alerted (the processor is being halted). Never escapes a processor.</summary>
public sealed class AlertException : StreamMlException
{
    /// <summary>The shared instance: alerts are control flow, so no stack trace is captured.</summary>
    public static readonly AlertException Instance = new();

    private AlertException() : base("the sequence barrier was alerted") { }
}

/// <summary>The sequence(s) a consumer must not overtake: the producer cursor for the first stage, otherwise the
/// slowest of the stages it depends on.</summary>
public interface IDependentSequence
{
    /// <summary>The highest sequence every dependency has reached.</summary>
    long Value { get; }
}

internal sealed class CursorDependency(Sequence cursor) : IDependentSequence
{
    public long Value => cursor.Value;
}

internal sealed class SingleDependency(Sequence sequence) : IDependentSequence
{
    public long Value => sequence.Value;
}

internal sealed class GroupDependency(Sequence[] sequences) : IDependentSequence
{
    public long Value => Sequence.Min(sequences);
}

/// <summary>Where a consumer waits: it hands out sequences that are both published by the producer(s) and processed
/// by every stage the consumer depends on, which is how stages form pipelines and diamonds.</summary>
public sealed class SequenceBarrier
{
    private readonly ISequencer _sequencer;
    private readonly IWaitStrategy _waitStrategy;
    private readonly Sequence _cursor;
    private readonly IDependentSequence _dependent;
    private volatile bool _alerted;

    internal SequenceBarrier(ISequencer sequencer, IWaitStrategy waitStrategy, Sequence cursor, Sequence[] dependencies)
    {
        _sequencer = sequencer;
        _waitStrategy = waitStrategy;
        _cursor = cursor;
        _dependent = dependencies.Length switch
        {
            0 => new CursorDependency(cursor),
            1 => new SingleDependency(dependencies[0]),
            _ => new GroupDependency(dependencies),
        };
    }

    /// <summary>Waits until <paramref name="sequence"/> can be read and returns the highest readable sequence, which may
    /// be above it (the consumer then takes all of them at once) or below it when <paramref name="timeout"/> passed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor(long sequence, TimeSpan timeout)
    {
        CheckAlert();
        var available = _waitStrategy.WaitFor(sequence, _cursor, _dependent, this, timeout);
        if (available < sequence) return available;
        return _sequencer.GetHighestPublishedSequence(sequence, available);
    }

    /// <summary>The producer cursor's value.</summary>
    public long Cursor => _dependent.Value;

    /// <summary>True once <see cref="Alert"/> was called and not cleared.</summary>
    public bool IsAlerted => _alerted;

    /// <summary>Makes waiters throw <see cref="AlertException"/>.</summary>
    public void Alert()
    {
        _alerted = true;
        _waitStrategy.SignalAllWhenBlocking();
    }

    /// <summary>Clears the alert.</summary>
    public void ClearAlert() => _alerted = false;

    /// <summary>Throws <see cref="AlertException"/> when alerted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckAlert()
    {
        if (_alerted) Throw();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw() => throw AlertException.Instance;
}
