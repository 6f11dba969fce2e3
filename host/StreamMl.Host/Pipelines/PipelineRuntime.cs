using System.Collections.Concurrent;
using StreamMl.Engine;
using StreamMl.Host.Models;

namespace StreamMl.Host.Pipelines;

/// <summary>What lives as long as a managed pipeline, across restarts and across its two chains (the streaming
/// pipeline and the Score chain): events, model deployments, drift state, dead letters.</summary>
internal sealed class PipelineRuntime(string name, ModelCatalog catalog, int keepDeadLetters = 10_000)
{
    public string Name { get; } = name;

    public ModelCatalog Catalog { get; } = catalog;

    public EventHub Events { get; } = new();

    public ModelDeployments Models { get; } = new();

    public RecentDeadLetters DeadLetters { get; } = new(keepDeadLetters);

    /// <summary>Set by the drift stage's factory; null when the spec has no drift section.</summary>
    public DriftState? Drift { get; set; }

    /// <summary>Set by the gRPC source's factory; null when the pipeline reads another source.</summary>
    public GrpcIngestSource? Ingest { get; set; }

    /// <summary>Highest accepted Ingest sequence per producer, for dropping the duplicates of a client's retry.</summary>
    public IngestProducers Producers { get; } = new();

    /// <summary>Set by the memory sink's factory.</summary>
    public MemorySink? Memory { get; set; }
}

/// <summary>Keeps the most recent dead letters (bounded, so a long-running pipeline does not grow without limit) and
/// counts all of them. Thread-safe.</summary>
internal sealed class RecentDeadLetters(int capacity) : IDeadLetterSink
{
    private readonly ConcurrentQueue<DeadLetter> _letters = new();
    private long _count;

    public void Write(DeadLetter deadLetter)
    {
        _letters.Enqueue(deadLetter);
        Interlocked.Increment(ref _count);
        while (_letters.Count > capacity) _letters.TryDequeue(out _);
    }

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Newest first.</summary>
    public IReadOnlyList<DeadLetter> Snapshot() => [.. _letters.Reverse()];
}
