using System.Collections.Concurrent;
using StreamMl.Engine;
using StreamMl.Host.Models;

namespace StreamMl.Host.Pipelines;

/// <summary>What lives as long as a managed pipeline, across restarts and across its two chains (the streaming
/// pipeline and the Score chain): events, model deployments, drift state, dead letters.</summary>
internal sealed class PipelineRuntime
{
    public PipelineRuntime(string name, ModelCatalog catalog, int keepDeadLetters = 10_000)
    {
        Name = name;
        Catalog = catalog;
        DeadLetters = new(keepDeadLetters);
        // Monitors' alerts reach Subscribe and the logs here; drift windows publish their richer message themselves.
        Alerts.Raised += Report.Add;
        Alerts.Raised += alert =>
        {
            if (alert.Kind != DriftWindows.AlertKind) Events.PublishAlert(AlertRouting.ToProto(alert, Name));
        };
    }

    public string Name { get; }

    /// <summary>The clock of the pipeline's timed model logic (retraining and the rollouts it starts); tests set a manual one.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>The model section's retrain loop, when it has a <c>retrain:</c> policy.</summary>
    public ModelRetrain? Retrain { get; set; }

    /// <summary>Alerts, drift windows and monitors kept for the monitoring report (Reporting/PipelineReport.cs).</summary>
    public Reporting.ReportState Report { get; } = new();

    /// <summary>Every alert of the pipeline's monitors and drift windows, as rows for the spec's alert sinks.</summary>
    public Operators.Monitoring.AlertStream Alerts { get; } = new();

    /// <summary>Quiet period per series after an alert (the spec's <c>alerts.cooldown</c>), for drift windows.</summary>
    public TimeSpan AlertCooldown { get; set; }

    public ModelCatalog Catalog { get; }

    public EventHub Events { get; } = new();

    public ModelDeployments Models { get; } = new();

    public RecentDeadLetters DeadLetters { get; }

    /// <summary>Set by the drift stage's factory; null when the spec has no drift section.</summary>
    public DriftState? Drift { get; set; }

    /// <summary>Set by the gRPC source's factory; null when the pipeline reads another source.</summary>
    public GrpcIngestSource? Ingest { get; set; }

    /// <summary>Highest accepted Ingest sequence per producer, for dropping the duplicates of a client's retry.</summary>
    public IngestProducers Producers { get; } = new();

    /// <summary>Set by the recommend section's factory; null when the spec has no recommend section.</summary>
    public Recommendations.RecommendState? Recommend { get; set; }

    /// <summary>True when the runtime only checks a spec (<c>streamml validate</c>): stages start nothing that outlives
    /// the check, such as a rollout recorded in the registry or a rollout follower.</summary>
    public bool Checking { get; init; }

    /// <summary>The host's log for what the pipeline's stages do on their own (rollout transitions); null in tests.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; set; }

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
