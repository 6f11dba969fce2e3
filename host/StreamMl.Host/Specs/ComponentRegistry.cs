using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Specs;

/// <summary>Reads a component's options from its spec node (recording errors with positions) and returns how to
/// create it, or null when the options are wrong. Creating is deferred so `validate` never opens anything and the
/// host can create one instance per chain.</summary>
internal delegate Func<PipelineRuntime, T>? ComponentFactory<T>(SpecNode node, SpecContext context);

/// <summary>What a factory may use while reading a spec.</summary>
internal sealed class SpecContext(SpecErrors errors, string baseDirectory, ModelCatalog catalog)
{
    public SpecErrors Errors { get; } = errors;

    /// <summary>Relative paths in the spec are relative to this folder (the spec file's folder, or the working directory).</summary>
    public string BaseDirectory { get; } = baseDirectory;

    public ModelCatalog Catalog { get; } = catalog;

    /// <summary>Quiet period per series after an alert, from the spec's <c>alerts.cooldown</c> (default zero).</summary>
    public TimeSpan AlertCooldown { get; set; }

    /// <summary>Rows per batch from the spec's options.</summary>
    public int BatchCapacity { get; set; } = ColumnBatch.DefaultCapacity;

    public string ResolvePath(string path) => Path.GetFullPath(Path.Combine(BaseDirectory, path));
}

/// <summary>The kinds a spec may name: sources and sinks by <c>kind</c>, and the operator sections (validation,
/// features, model, drift). Each kind is one small factory entry; <see cref="BuiltInComponents"/> registers them.</summary>
internal sealed class ComponentRegistry
{
    /// <summary>Operator sections in the order their stages run.</summary>
    public static readonly string[] SectionOrder = ["validation", "features", "model", "drift", "monitors", "recommend"];

    /// <summary>Sections whose stages also run for Score requests (drift watches only the stream).</summary>
    public static readonly string[] ScoreSections = ["validation", "features", "model"];

    public Dictionary<string, ComponentFactory<IBatchSource>> Sources { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, ComponentFactory<IBatchSink>> Sinks { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, ComponentFactory<IBatchOperator>> Sections { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Where connectors created from specs log (secrets redacted). Default: nowhere.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory ConnectorLoggers { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    /// <summary>A registry with every kind the host knows.</summary>
    public static ComponentRegistry CreateDefault()
    {
        var registry = new ComponentRegistry();
        BuiltInComponents.Register(registry);
        return registry;
    }
}
