using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Pipelines;

/// <summary>A pipeline name that the host does not know. <see cref="Exception.Message"/> lists the pipelines there are
/// (for administrators and in-process callers); <see cref="WithoutNames"/> is what other gRPC callers get.</summary>
internal sealed class PipelineNotFoundException(string name, IReadOnlyList<string> known)
    : StreamMlException($"there is no pipeline {SafeText.Quote(name)}; pipelines: {(known.Count > 0 ? string.Join(", ", known) : "none (create one with Control.CreatePipeline or `streamml run`)")}")
{
    /// <summary>The message without the names of the other pipelines, which a read or score key may not list.</summary>
    public string WithoutNames => $"there is no pipeline {SafeText.Quote(name)}";
}

/// <summary>A pipeline name in a request that no pipeline could have: empty, too long, or with characters names may not hold.</summary>
internal sealed class InvalidPipelineNameException(string name)
    : StreamMlException($"{(name.Length == 0 ? "the pipeline name is empty" : $"{SafeText.Quote(name)} ({name.Length:N0} characters) is not a pipeline name")}: " +
        "names have 1 to 100 letters, digits, '-', '_' or '.', and are not '.' or '..'");

/// <summary>A pipeline that fits the memory budget alone but not beside the pipelines the host already has.</summary>
internal sealed class MemoryBudgetException(string message) : StreamMlException(message);

/// <summary>Creates, starts, stops and finds the host's pipelines. Thread-safe.</summary>
internal sealed class PipelineManager : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ManagedPipeline> _pipelines = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SpecCompiler _compiler;
    private readonly ILogger _logger;
    private readonly int _maxScoreRows;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A manager whose pipelines' rings may take <paramref name="memoryBudget"/> bytes together (default:
    /// <c>STREAMML_MEMORY_BUDGET</c>, else half the available memory).</summary>
    public PipelineManager(ComponentRegistry registry, ModelCatalog catalog, ILogger<PipelineManager> logger, int maxScoreRows = 1024, long? memoryBudget = null)
    {
        MemoryBudget = memoryBudget ?? Hosting.MemoryBudget.Resolve(null);
        Catalog = catalog;
        Registry = registry;
        _compiler = new SpecCompiler(registry, catalog);
        _logger = logger;
        _maxScoreRows = maxScoreRows;
    }

    public ModelCatalog Catalog { get; }

    /// <summary>Bytes the pipelines' rings may take together.</summary>
    public long MemoryBudget { get; }

    public ComponentRegistry Registry { get; }

    public SpecCompiler Compiler => _compiler;

    public IReadOnlyList<ManagedPipeline> All => [.. _pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal)];

    public event Action<ManagedPipeline>? Created;

    /// <summary>Completes at the next change of a pipeline's state or a deployment (for health Watch); take it before
    /// reading the state, then wait on it.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Completes the current <see cref="Changed"/> task and starts a new one.</summary>
    public void NotifyChanged() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>The pipeline named <paramref name="name"/>; a name no pipeline could have is refused before the lookup,
    /// so it is never echoed whole.</summary>
    public ManagedPipeline Get(string name)
    {
        if (_pipelines.TryGetValue(name, out var pipeline)) return pipeline;
        if (!SpecCompiler.IsValidName(name)) throw new InvalidPipelineNameException(name);
        throw new PipelineNotFoundException(name, [.. _pipelines.Keys.Order(StringComparer.Ordinal)]);
    }

    public bool TryGet(string name, out ManagedPipeline pipeline) => _pipelines.TryGetValue(name, out pipeline!);

    /// <summary>Compiles and binds a spec and adds the pipeline; throws <see cref="SpecException"/> for a bad spec.</summary>
    public async Task<ManagedPipeline> CreateAsync(string specText, bool start, bool replace, string? baseDirectory, CancellationToken cancellationToken)
    {
        var spec = _compiler.Compile(specText, baseDirectory);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        ManagedPipeline pipeline;
        try
        {
            if (_pipelines.TryGetValue(spec.Name, out var existing) && !replace)
                throw new PipelineException($"a pipeline named '{spec.Name}' already exists: delete it first or create with replace");
            // The replacement is bound and measured while the pipeline it replaces still runs: a refused replacement
            // (schema error, memory budget) leaves that pipeline as it was (ReplaceTests).
            pipeline = new ManagedPipeline(spec, new PipelineRuntime(spec.Name, Catalog) { Logger = _logger }, _maxScoreRows);
            await CheckMemoryAsync(pipeline, replacing: existing).ConfigureAwait(false);
            if (existing is not null) await DeleteCoreAsync(existing).ConfigureAwait(false);
            pipeline.RunEnded += p =>
            {
                Log.PipelineEnded(_logger, p.Name, p.State.ToString(), p.Error?.Message ?? "");
                NotifyChanged();
            };
            _pipelines[spec.Name] = pipeline;
        }
        finally
        {
            _gate.Release();
        }
        Log.PipelineCreated(_logger, spec.Name, spec.Source.Kind, spec.Operators.Count, spec.Sinks.Count);
        Created?.Invoke(pipeline);
        NotifyChanged();
        if (start) await StartAsync(spec.Name, cancellationToken).ConfigureAwait(false);
        return pipeline;
    }

    /// <summary>Refuses a pipeline whose ring does not fit the budget (alone: a spec error at its options; beside the
    /// others: RESOURCE_EXHAUSTED naming what they take), before anything is allocated. The pipeline it would replace
    /// does not count: its ring is freed before the new one is started.</summary>
    private async Task CheckMemoryAsync(ManagedPipeline pipeline, ManagedPipeline? replacing)
    {
        var estimate = MemoryEstimate.Of(pipeline.Spec, pipeline.OutputSchema);
        var kept = _pipelines.Values.Where(p => !ReferenceEquals(p, replacing)).ToList();
        var others = kept.Sum(p => MemoryEstimate.Of(p.Spec, p.OutputSchema).Bytes);
        if (estimate.Bytes + others <= MemoryBudget) return;
        await pipeline.DisposeAsync().ConfigureAwait(false);
        if (estimate.Check(pipeline.Spec, MemoryBudget) is { } error) throw new SpecException([error]);
        throw new MemoryBudgetException(
            $"pipeline '{pipeline.Name}': {estimate.Describe()}; with the {kept.Count} pipeline(s) already here " +
            $"({Hosting.MemoryBudget.Format(others)}) that is over the host's memory budget of {Hosting.MemoryBudget.Format(MemoryBudget)}: " +
            $"delete a pipeline, make this one smaller, or raise the budget (--memory-budget, {Hosting.MemoryBudget.EnvironmentVariable})");
    }

    public async Task<ManagedPipeline> StartAsync(string name, CancellationToken cancellationToken)
    {
        var pipeline = Get(name);
        try
        {
            await pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            NotifyChanged(); // running, or failed to start
        }
        Log.PipelineStarted(_logger, name);
        return pipeline;
    }

    public async Task<ManagedPipeline> StopAsync(string name, CancellationToken cancellationToken)
    {
        var pipeline = Get(name);
        await pipeline.StopAsync(cancellationToken).ConfigureAwait(false);
        NotifyChanged();
        return pipeline;
    }

    public async Task<ManagedPipeline> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pipeline = Get(name);
            await DeleteCoreAsync(pipeline).ConfigureAwait(false);
            return pipeline;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DeleteCoreAsync(ManagedPipeline pipeline)
    {
        _pipelines.TryRemove(pipeline.Name, out _);
        await pipeline.DisposeAsync().ConfigureAwait(false);
        NotifyChanged();
        Log.PipelineDeleted(_logger, pipeline.Name);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pipeline in _pipelines.Values)
        {
            try { await pipeline.DisposeAsync().ConfigureAwait(false); }
            catch (Exception ex) { Log.PipelineEnded(_logger, pipeline.Name, "dispose-failed", ex.Message); }
        }
        _pipelines.Clear();
    }
}
