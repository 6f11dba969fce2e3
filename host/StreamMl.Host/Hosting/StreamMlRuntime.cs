using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Hosting;

/// <summary>StreamMl in process: the same operations as the gRPC services, without the network. Get it from DI after
/// <see cref="ServiceCollectionExtensions.AddStreamMl"/>.</summary>
public sealed class StreamMlRuntime
{
    private readonly PipelineManager _pipelines;

    internal StreamMlRuntime(PipelineManager pipelines) => _pipelines = pipelines;

    /// <summary>Names of the pipelines.</summary>
    public IReadOnlyList<string> Pipelines => [.. _pipelines.All.Select(p => p.Name)];

    /// <summary>Creates a pipeline from spec text (YAML or JSON) and optionally starts it; relative paths in the spec
    /// are resolved against <paramref name="baseDirectory"/> (default: the working directory).</summary>
    public async Task<PipelineInfo> CreatePipelineAsync(string spec, bool start = true, string? baseDirectory = null, CancellationToken cancellationToken = default) =>
        (await _pipelines.CreateAsync(spec, start, replace: false, baseDirectory, cancellationToken).ConfigureAwait(false)).Info();

    /// <summary>Stops a pipeline with a drain.</summary>
    public async Task StopPipelineAsync(string name, CancellationToken cancellationToken = default) =>
        await _pipelines.StopAsync(name, cancellationToken).ConfigureAwait(false);

    /// <summary>Waits until a pipeline over a bounded source has read everything and drained.</summary>
    public Task WaitForCompletionAsync(string name, CancellationToken cancellationToken = default) =>
        _pipelines.Get(name).Current is null ? Task.CompletedTask : _pipelines.Get(name).Ended.WaitAsync(cancellationToken);

    /// <summary>Per-stage counters, lag, backpressure and the deployed model.</summary>
    public PipelineStatus GetStatus(string name) => _pipelines.Get(name).Status();

    /// <summary>Scores rows given as column name to value maps.</summary>
    public ScoreResponse Score(string pipeline, params IReadOnlyDictionary<string, object?>[] rows)
    {
        var set = new RowSet();
        var columns = rows.SelectMany(r => r.Keys).Distinct().ToList();
        set.Columns.AddRange(columns);
        foreach (var row in rows)
        {
            var r = new Row();
            foreach (var column in columns) r.Values.Add(ToValue(row.GetValueOrDefault(column)));
            set.Rows.Add(r);
        }
        return _pipelines.Get(pipeline).Score(new ScoreRequest { Pipeline = pipeline, Rows = set });
    }

    /// <summary>The drift report of a pipeline with a drift section.</summary>
    public DriftReport GetDriftReport(string pipeline) =>
        _pipelines.Get(pipeline).Runtime.Drift?.Report(pipeline, 0)
        ?? throw new Engine.StreamMlException($"pipeline '{pipeline}' has no drift section");

    private static Value ToValue(object? value) => value switch
    {
        null => new Value(),
        string s => new Value { Text = s },
        bool b => new Value { Flag = b },
        int i => new Value { Integer = i },
        long l => new Value { Integer = l },
        float f => new Value { Number = f },
        double d => new Value { Number = d },
        DateTime t => new Value { TimestampMicros = (t.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) / 10 },
        _ => throw new ArgumentException($"values of type {value.GetType().Name} are not supported; use string, bool, int, long, float, double or DateTime"),
    };
}
