namespace StreamMl.Engine;

/// <summary>An operator that can run as several workers: the pipeline gives each worker its own thread and every
/// <see cref="Workers"/>-th batch of the ring (batch sequence modulo the worker count), and the next stage waits for the
/// slowest worker, so batches leave the stage in their original order. Worth it for a stage much slower than the
/// others, such as a model (docs/engine.md, "Parallel stages").</summary>
public interface IParallelOperator : IBatchOperator
{
    /// <summary>Workers this operator asks for when added with <see cref="PipelineBuilder.Then(IBatchOperator)"/>
    /// (1: one thread, as any operator).</summary>
    int Workers { get; }

    /// <summary>Another instance for another worker thread: it shares what must be shared (a deployed model, counters
    /// readers see) and owns its per-batch buffers. The pipeline binds it to the same schema; the instance that created
    /// it disposes it.</summary>
    IBatchOperator CreateWorker();
}
