using System.Collections.Concurrent;

namespace StreamMl.Host.Pipelines;

/// <summary>The idempotent-ingest state of one pipeline: for each producer name, the highest message sequence accepted
/// (its rows queued into the pipeline). A message whose sequence is not above it is a duplicate of one already accepted,
/// resent by a client that retried after a failure, and is dropped. Lives in <see cref="PipelineRuntime"/>, so it
/// survives a client reconnecting and the pipeline stopping and starting again. Without a checkpoint it is memory only,
/// so a host restart forgets it; with <c>checkpoint:</c> on the grpc source, <see cref="IngestCheckpoint"/> persists each
/// producer's committed sequence and restores it at start (docs/host.md, "Ingest with acknowledgements"). Thread-safe.</summary>
internal sealed class IngestProducers
{
    private readonly ConcurrentDictionary<string, Producer> _producers = new(StringComparer.Ordinal);

    /// <summary>The state of <paramref name="name"/>, created on first use.</summary>
    public Producer Get(string name) => _producers.GetOrAdd(name, static n => new Producer(n));

    /// <summary>Producers seen so far.</summary>
    public int Count => _producers.Count;

    /// <summary>Every producer seen so far.</summary>
    public IEnumerable<Producer> All => _producers.Values;

    /// <summary>One producer: a gate that makes check-accept-advance atomic across concurrent streams (a retry may start
    /// before the host has noticed that the failed stream is gone), and the highest accepted sequence.</summary>
    internal sealed class Producer(string name)
    {
        public string Name { get; } = name;

        /// <summary>Held while one message of this producer is checked, queued and recorded.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The highest accepted sequence; 0 before the first.</summary>
        public long AcceptedThrough { get; set; }

        /// <summary>With a checkpoint: the source partition of this producer's rows (stable across runs); -1 before its
        /// first row.</summary>
        public int Partition { get; set; } = -1;

        /// <summary>With a checkpoint: the position of this producer's next row in its partition (rows accepted so far,
        /// across runs, restarting from the committed count after a crash).</summary>
        public long NextRow { get; set; }

        /// <summary>With a checkpoint: the highest sequence whose rows every sink has made durable.</summary>
        public long CommittedThrough { get; set; }

        /// <summary>With a checkpoint: the rows of this producer up to <see cref="CommittedThrough"/>.</summary>
        public long CommittedRows { get; set; }

        /// <summary>With a checkpoint: accepted messages not yet committed, as (sequence, end row), in order.</summary>
        public Queue<(long Sequence, long EndRow)> Pending { get; } = new();
    }
}
