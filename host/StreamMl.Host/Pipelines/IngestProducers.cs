using System.Collections.Concurrent;

namespace StreamMl.Host.Pipelines;

/// <summary>The idempotent-ingest state of one pipeline: for each producer name, the highest message sequence accepted
/// (its rows queued into the pipeline). A message whose sequence is not above it is a duplicate of one already accepted,
/// resent by a client that retried after a failure, and is dropped. Lives in <see cref="PipelineRuntime"/>, so it
/// survives a client reconnecting and the pipeline stopping and starting again; it is memory only, so a host restart
/// forgets it (docs/host.md, "Ingest with acknowledgements"). Thread-safe.</summary>
internal sealed class IngestProducers
{
    private readonly ConcurrentDictionary<string, Producer> _producers = new(StringComparer.Ordinal);

    /// <summary>The state of <paramref name="name"/>, created on first use.</summary>
    public Producer Get(string name) => _producers.GetOrAdd(name, static _ => new Producer());

    /// <summary>Producers seen so far.</summary>
    public int Count => _producers.Count;

    /// <summary>One producer: a gate that makes check-accept-advance atomic across concurrent streams (a retry may start
    /// before the host has noticed that the failed stream is gone), and the highest accepted sequence.</summary>
    internal sealed class Producer
    {
        /// <summary>Held while one message of this producer is checked, queued and recorded.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The highest accepted sequence; 0 before the first.</summary>
        public long AcceptedThrough { get; set; }
    }
}
