using System.Diagnostics;
using StreamMl.Engine;
using StreamMl.Host.Protos;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Pipelines;

/// <summary>The lifecycle states of a managed pipeline.</summary>
internal enum PipelineState
{
    Created,
    Running,
    Stopping,
    Stopped,
    Completed,
    Failed,
}

/// <summary>A pipeline the host manages: its spec, its runtime state, the running engine pipeline (rebuilt on each
/// start, since an engine pipeline runs once) and the Score chain.</summary>
internal sealed class ManagedPipeline : IAsyncDisposable
{
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lazy<ScoreChain> _scoreChain;
    private Pipeline? _pipeline;
    private Pipeline? _alertPipeline;
    private GrpcIngestSource? _ingest;
    private long _startedTimestamp;
    private PipelineState _state = PipelineState.Created;
    private TaskCompletionSource _ended = NewEnded();

    private readonly int _maxScoreRows;

    public ManagedPipeline(CompiledSpec spec, PipelineRuntime runtime, int maxScoreRows)
    {
        _maxScoreRows = maxScoreRows;
        Spec = spec;
        Runtime = runtime;
        runtime.AlertCooldown = spec.AlertCooldown;
        // Binding once up front turns every schema problem into a create-time error with its spec position.
        (InputSchema, OutputSchema) = spec.Bind(runtime);
        _scoreChain = new Lazy<ScoreChain>(() => new ScoreChain(spec, runtime, InputSchema, maxScoreRows));
    }

    public string Name => Spec.Name;

    public CompiledSpec Spec { get; }

    public PipelineRuntime Runtime { get; }

    public Schema InputSchema { get; }

    public Schema OutputSchema { get; }

    public PipelineState State => _state;

    /// <summary>True when the spec has a model section: only then does a deployed model score rows.</summary>
    public bool HasModelStage => Spec.Operators.Any(o => o.Kind == "model");

    public Exception? Error { get; private set; }

    /// <summary>The engine pipeline of the current or last run; null before the first start.</summary>
    public Pipeline? Current => _pipeline;

    public LatencyRecorder ScoreLatency { get; } = new();

    /// <summary>Completes when the current run has ended and <see cref="State"/> says how (it never faults).</summary>
    public Task Ended => _ended.Task;

    private static TaskCompletionSource NewEnded() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised when a run ends (completed, stopped or failed).</summary>
    public event Action<ManagedPipeline>? RunEnded;

    public TimeSpan Uptime => _startedTimestamp == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_startedTimestamp);

    public ScoreResponse Score(ScoreRequest request)
    {
        var start = Stopwatch.GetTimestamp();
        var response = _scoreChain.Value.Score(request, Runtime.Models, Name);
        ScoreLatency.Record(Stopwatch.GetElapsedTime(start));
        return response;
    }

    /// <summary>Scores a request in another wire form (the Open Inference Protocol) through the Score chain.</summary>
    public void Score<TPayload>(ref TPayload payload, string where, Models.ModelEntry? pinned = null) where TPayload : struct, IScorePayload
    {
        var start = Stopwatch.GetTimestamp();
        _scoreChain.Value.Run(ref payload, where, pinned);
        ScoreLatency.Record(Stopwatch.GetElapsedTime(start));
    }

    /// <summary>What a Score client needs: input columns, outputs, and the deployed versions (all, or the one
    /// <paramref name="selector"/> names, as in Score's <c>model_version</c>).</summary>
    public ModelDescription Describe(string selector)
    {
        var description = new ModelDescription { Pipeline = Name, MaxScoreRows = _maxScoreRows };
        description.Inputs.AddRange(InputSchema.Select(f => new ColumnInfo { Name = f.Name, Type = ColumnTypes.Name(f.Type), Required = !f.Nullable }));
        description.Outputs.AddRange(s_outputs);
        if (!HasModelStage) return description;
        var deployment = Runtime.Models.Current;
        var pinned = Models.ModelSelector.Resolve(deployment, selector, Name);
        foreach (var (entry, variant) in Models.ModelSelector.Deployed(deployment))
        {
            if (pinned is not null && !ReferenceEquals(entry, pinned)) continue;
            var info = new ModelInfo
            {
                Name = entry.Name,
                Version = entry.Version,
                Variant = variant,
                Traffic = variant switch
                {
                    Models.ModelSelector.Primary => 1 - (deployment.Candidate is null ? 0 : deployment.CandidateTraffic),
                    Models.ModelSelector.Candidate => deployment.CandidateTraffic,
                    _ => 0,
                },
                Kind = entry.Kind,
                Task = entry.Task,
                Threshold = entry.Task == "binary" ? entry.Threshold : 0,
            };
            info.Classes.AddRange(entry.Classes);
            info.Inputs.AddRange(entry.Inputs);
            description.Models.Add(info);
        }
        return description;
    }

    private static readonly ColumnInfo[] s_outputs =
    [
        new() { Name = "score", Type = "float32", Description = "binary: the probability of the last class; multiclass: the best class's score; regression: the value" },
        new() { Name = "label", Type = "string", Description = "classification: the predicted class (binary: after the threshold)" },
        new() { Name = "probabilities", Type = "float32[]", Description = "classification: one per class, in the order of classes" },
        new() { Name = "model", Type = "string", Description = "name@version of the model that answered" },
        new() { Name = "model_name", Type = "string", Description = "the answering model's name" },
        new() { Name = "model_version", Type = "string", Description = "the answering model's version" },
        new() { Name = "variant", Type = "string", Description = "primary, candidate, shadow or previous" },
        new() { Name = "rejected", Type = "bool", Description = "the row failed validation or had an unusable model input" },
        new() { Name = "reason", Type = "string", Description = "why the row was rejected: the rule and the field" },
    ];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_state is PipelineState.Running or PipelineState.Stopping)
                throw new PipelineException($"pipeline '{Name}' is already {_state.ToString().ToLowerInvariant()}");
            if (_pipeline is not null) await _pipeline.DisposeAsync().ConfigureAwait(false);
            if (_alertPipeline is not null) await _alertPipeline.DisposeAsync().ConfigureAwait(false);
            _alertPipeline = BuildAlertPipeline();
            var source = CompiledSpec.Create(Spec.Source, Runtime);
            _ingest = source as GrpcIngestSource;
            var builder = Pipeline.From(source, new PipelineOptions
            {
                Name = Name,
                BatchCapacity = Spec.BatchCapacity,
                RingSize = Spec.RingSize,
                WaitStrategy = Spec.WaitStrategy,
                FlushInterval = Spec.FlushInterval,
                DeadLetters = Runtime.DeadLetters,
            });
            foreach (var stage in Spec.Operators) builder.Then(CompiledSpec.Create(stage, Runtime));
            var sinks = Spec.Sinks.Select(s => CompiledSpec.Create(s, Runtime)).Append(new SubscriptionSink(Runtime.Events)).ToList();
            if (Runtime.Recommend?.CheckpointSink() is { } recommendCheckpoint) sinks.Add(recommendCheckpoint);
            builder.To([.. sinks]);
            _pipeline = builder.Build();
            Error = null;
            if (_ended.Task.IsCompleted) _ended = NewEnded();
            if (_alertPipeline is not null) await _alertPipeline.StartAsync(cancellationToken).ConfigureAwait(false);
            await _pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
            _startedTimestamp = Stopwatch.GetTimestamp();
            _state = PipelineState.Running;
            var run = _pipeline;
            var alertRun = _alertPipeline;
            _ = run.Completion.ContinueWith(async t =>
            {
                // The alert rows of a run are written before the run counts as ended.
                Runtime.Alerts.Complete();
                if (alertRun is not null)
                {
                    try { await alertRun.Completion.ConfigureAwait(false); }
                    catch (Exception) when (t.IsFaulted) { /* the run's own failure is the one reported */ }
                }
                OnRunEnded(run, alertRun is { Completion.IsFaulted: true } && !t.IsFaulted ? alertRun.Completion : t);
            }, TaskScheduler.Default).Unwrap();
        }
        catch (Exception ex)
        {
            _state = PipelineState.Failed;
            Error = ex;
            throw;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The pipeline that writes the alert rows to the spec's <c>alerts.sinks</c>, or null when it has none.</summary>
    private Pipeline? BuildAlertPipeline()
    {
        if (Spec.AlertSinks.Count == 0) return null;
        var sinks = Spec.AlertSinks.Select(s => CompiledSpec.Create(s, Runtime)).ToArray();
        return Pipeline.From(Runtime.Alerts.CreateSource(name: "alerts"), new PipelineOptions
        {
            Name = $"{Name}-alerts",
            BatchCapacity = 1024,
            RingSize = 4,
            FlushInterval = Spec.FlushInterval,
            DeadLetters = Runtime.DeadLetters,
        }).To(sinks).Build();
    }

    /// <summary>The pipeline writing alert rows in the current or last run; null when the spec has no alert sinks.</summary>
    public Pipeline? AlertPipeline => _alertPipeline;

    private void OnRunEnded(Pipeline run, Task completion)
    {
        if (!ReferenceEquals(run, _pipeline)) return;
        if (completion.IsFaulted)
        {
            Error = completion.Exception?.GetBaseException();
            _state = PipelineState.Failed;
        }
        else _state = _state is PipelineState.Stopping or PipelineState.Stopped ? PipelineState.Stopped : PipelineState.Completed;
        RunEnded?.Invoke(this);
        _ended.TrySetResult();
    }

    /// <summary>Stops with a drain and waits for the sinks to flush. A pipeline fed by Ingest first refuses new messages
    /// and reads every row already acknowledged to a client (they have no source position to replay from), then ends
    /// like a bounded source; other sources are told to stop reading and the ring drains.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_pipeline is null || _state != PipelineState.Running) return;
            _state = PipelineState.Stopping;
            try
            {
                if (_ingest is { } ingest)
                {
                    ingest.CloseForStop();
                    await _pipeline.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                else await _pipeline.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The failure is recorded by OnRunEnded.
            }
            // OnRunEnded runs as a continuation; make the state final before answering.
            if (_state == PipelineState.Stopping) _state = Error is null ? PipelineState.Stopped : PipelineState.Failed;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public PipelineInfo Info()
    {
        var info = new PipelineInfo
        {
            Name = Name,
            State = _state.ToString().ToLowerInvariant(),
            Source = Spec.Source.Kind,
            Error = Error?.Message ?? "",
        };
        info.Operators.AddRange(Spec.Operators.Select(o => o.Kind));
        info.Sinks.AddRange(Spec.Sinks.Select(s => s.Kind));
        info.InputColumns.AddRange(InputSchema.Select(f => $"{f.Name}:{ColumnTypes.Name(f.Type)}"));
        return info;
    }

    public IReadOnlyList<StageStatus> Stages() =>
        _pipeline is null
            ? []
            : [.. _pipeline.Stages.Select(s => new StageStatus
            {
                Name = s.Name,
                Kind = s.Kind.ToString().ToLowerInvariant(),
                RowsIn = s.RowsIn,
                RowsOut = s.RowsOut,
                Batches = s.Batches,
                RowsRejected = s.RowsRejected,
                Errors = s.Errors,
                BusyMs = s.Busy.TotalMilliseconds,
                WaitingMs = s.Waiting.TotalMilliseconds,
                IdleMs = s.Idle.TotalMilliseconds,
            })];

    public PipelineStatus Status()
    {
        var status = new PipelineStatus
        {
            Info = Info(),
            RingSize = Spec.RingSize,
            InFlightBatches = _pipeline?.InFlight ?? 0,
            LagRows = Runtime.Ingest?.Lag ?? 0,
            DeadLetters = Runtime.DeadLetters.Count,
            Model = Runtime.Models.ToProto(),
            UptimeSeconds = Uptime.TotalSeconds,
        };
        status.Stages.AddRange(Stages());
        if (_pipeline is { } p)
        {
            status.BackpressureMs = p.Stages[0].Waiting.TotalMilliseconds;
            status.RowsPerSecond = status.UptimeSeconds > 0 ? p.Stages[0].RowsOut / status.UptimeSeconds : 0;
        }
        return status;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_pipeline is not null)
        {
            try { await _pipeline.DisposeAsync().ConfigureAwait(false); }
            catch (StreamMlException) { /* a leak report after a failed run must not stop the host from shutting down */ }
        }
        if (_alertPipeline is not null)
        {
            Runtime.Alerts.Complete();
            try { await _alertPipeline.DisposeAsync().ConfigureAwait(false); }
            catch (StreamMlException) { /* as above */ }
        }
        if (_scoreChain.IsValueCreated) _scoreChain.Value.Dispose();
        Runtime.Models.Follower?.Dispose();
        Runtime.Events.CompleteAll();
        Runtime.Retrain?.Dispose();
        _lifecycle.Dispose();
    }
}
