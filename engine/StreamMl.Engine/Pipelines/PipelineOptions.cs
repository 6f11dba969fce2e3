using StreamMl.Engine.Ring;

namespace StreamMl.Engine;

/// <summary>How a pipeline runs. Every default is chosen for a 2-core machine running one pipeline.</summary>
public sealed class PipelineOptions
{
    /// <summary>Name in counters, logs and dead letters. Default "pipeline".</summary>
    public string Name { get; set; } = "pipeline";

    /// <summary>Rows per batch. Default 4096 (<see cref="ColumnBatch.DefaultCapacity"/>).</summary>
    public int BatchCapacity { get; set; } = ColumnBatch.DefaultCapacity;

    /// <summary>Batch slots in the ring, a power of two. It bounds memory: at most this many batches are in flight
    /// between the source and the slowest sink. Default 8.</summary>
    public int RingSize { get; set; } = 8;

    /// <summary>How idle stages wait for work. Default <see cref="WaitStrategyKind.Blocking"/>, which leaves the CPU
    /// to others; <see cref="WaitStrategyKind.BusySpin"/> has the lowest latency and burns a core per stage.</summary>
    public WaitStrategyKind WaitStrategy { get; set; } = WaitStrategyKind.Blocking;

    /// <summary>What happens when a stage throws on a batch. Default <see cref="ErrorPolicy.DeadLetterBatch"/>: when an
    /// operator throws, the batch's rows go to the dead-letter sink and the pipeline goes on; when a sink throws, the
    /// write is retried three times with growing pauses and then the pipeline stops (a sink failure is an outage, and
    /// dead-lettering good rows would hide it). Under <see cref="ErrorPolicy.Stop"/> any throw stops the pipeline.</summary>
    public ErrorPolicy ErrorPolicy { get; set; } = ErrorPolicy.DeadLetterBatch;

    /// <summary>How often buffering sinks are asked to flush while the pipeline runs. Default 1 second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where rejected rows go. Default: an in-memory <see cref="CollectingDeadLetterSink"/>.</summary>
    public IDeadLetterSink? DeadLetters { get; set; }
}

/// <summary>What a pipeline does when a stage throws.</summary>
public enum ErrorPolicy
{
    /// <summary>An operator's failing batch goes to the dead-letter sink with the error and later stages skip it; a
    /// failing sink write is retried, then stops the pipeline.</summary>
    DeadLetterBatch,
    /// <summary>The pipeline stops and <see cref="Pipeline.Completion"/> faults with the error.</summary>
    Stop,
}
