using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Pipelines;

/// <summary>A pipeline name that the host does not know.</summary>
internal sealed class PipelineNotFoundException(string name, IEnumerable<string> known)
    : StreamMlException($"there is no pipeline '{name}'; pipelines: {(known.Any() ? string.Join(", ", known) : "none (create one with Control.CreatePipeline or `streamml run`)")}");

/// <summary>Creates, starts, stops and finds the host's pipelines. Thread-safe.</summary>
internal sealed class PipelineManager : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ManagedPipeline> _pipelines = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SpecCompiler _compiler;
    private readonly ILogger _logger;
    private readonly int _maxScoreRows;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PipelineManager(ComponentRegistry registry, ModelCatalog catalog, ILogger<PipelineManager> logger, int maxScoreRows = 1024)
    {
        Catalog = catalog;
        Registry = registry;
        _compiler = new SpecCompiler(registry, catalog);
        _logger = logger;
        _maxScoreRows = maxScoreRows;
    }

    public ModelCatalog Catalog { get; }

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

    public ManagedPipeline Get(string name) =>
        _pipelines.TryGetValue(name, out var pipeline) ? pipeline : throw new PipelineNotFoundException(name, _pipelines.Keys.Order());

    public bool TryGet(string name, out ManagedPipeline pipeline) => _pipelines.TryGetValue(name, out pipeline!);

    /// <summary>Compiles and binds a spec and adds the pipeline; throws <see cref="SpecException"/> for a bad spec.</summary>
    public async Task<ManagedPipeline> CreateAsync(string specText, bool start, bool replace, string? baseDirectory, CancellationToken cancellationToken)
    {
        var spec = _compiler.Compile(specText, baseDirectory);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        ManagedPipeline pipeline;
        try
        {
            if (_pipelines.TryGetValue(spec.Name, out var existing))
            {
                if (!replace)
                    throw new PipelineException($"a pipeline named '{spec.Name}' already exists: delete it first or create with replace");
                await DeleteCoreAsync(existing).ConfigureAwait(false);
            }
            pipeline = new ManagedPipeline(spec, new PipelineRuntime(spec.Name, Catalog), _maxScoreRows);
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
