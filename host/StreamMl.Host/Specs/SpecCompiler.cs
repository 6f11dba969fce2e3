using StreamMl.Engine;
using StreamMl.Engine.Ring;
using StreamMl.Host.Models;

namespace StreamMl.Host.Specs;

/// <summary>Reads a pipeline spec (YAML, or JSON which is valid YAML) into a <see cref="CompiledSpec"/>, collecting
/// every error with its line and column.</summary>
/// <remarks>The shape:
/// <code>
/// name: sensors
/// options: { batch_capacity: 4096, ring_size: 8, wait_strategy: blocking, flush_interval: 1s }
/// source: { kind: grpc, columns: { temperature: float32, vibration: float32 } }
/// validation: [ ... ]       # rules, by the validation operator
/// features: [ ... ]         # steps, by the feature pipeline
/// model: { name: sensor-fault, version: "1", key: device, label: fault }
/// drift: { features: [temperature, vibration], reference_rows: 2000, window_rows: 1000 }
/// monitors: [ { columns: [temperature], key: device, detector: page-hinkley, settings: { delta: 0.5, lambda: 25 } } ]
/// sinks: [ { kind: parquet, path: out/ }, { kind: memory } ]
/// alerts: { cooldown: 30m, sinks: [ { kind: parquet, path: alerts/ } ] }   # alert rows, to any sink
/// </code></remarks>
internal sealed class SpecCompiler(ComponentRegistry registry, ModelCatalog catalog)
{
    /// <summary>Where models named in specs are looked up.</summary>
    public ModelCatalog Catalog => catalog;

    /// <summary>Compiles <paramref name="text"/>; throws a <see cref="SpecException"/> listing every error.</summary>
    public CompiledSpec Compile(string text, string? baseDirectory = null, string? origin = null)
    {
        var errors = new SpecErrors();
        var spec = TryCompile(text, errors, baseDirectory);
        if (errors.Any || spec is null) throw new SpecException(errors.All, origin);
        return spec;
    }

    /// <summary>Compiles <paramref name="text"/>, recording errors; returns null when there were any.</summary>
    public CompiledSpec? TryCompile(string text, SpecErrors errors, string? baseDirectory = null)
    {
        var root = SpecNode.Parse(text, errors);
        if (root is null) return null;
        var context = new SpecContext(errors, baseDirectory ?? Directory.GetCurrentDirectory(), catalog);

        var name = root.String("name", required: true) ?? "";
        if (name.Length > 0 && !IsValidName(name))
            root.Child("name")!.Error($"name {Hosting.SafeText.Quote(name)} is not a pipeline name: names have 1 to 100 letters, digits, '-', '_' or '.', and are not '.' or '..'");
        root.String("description");

        int batchCapacity = ColumnBatch.DefaultCapacity, ringSize = 8;
        var wait = WaitStrategyKind.Blocking;
        var flush = TimeSpan.FromSeconds(1);
        var (sizeLine, sizeColumn) = (1, 1);
        if (root.Child("options") is { } options)
        {
            var size = options.Child("batch_capacity") ?? options.Child("ring_size") ?? options;
            (sizeLine, sizeColumn) = (size.Line, size.Column);
            batchCapacity = options.Int("batch_capacity", min: 1, max: 1 << 20) ?? batchCapacity;
            ringSize = options.Int("ring_size", min: 1, max: 1 << 16) ?? ringSize;
            if ((ringSize & (ringSize - 1)) != 0) options.Child("ring_size")!.Error($"'options.ring_size' must be a power of two, got {ringSize}");
            wait = options.Choice("wait_strategy", ["blocking", "yielding", "busyspin"]) switch
            {
                "yielding" => WaitStrategyKind.Yielding,
                "busyspin" => WaitStrategyKind.BusySpin,
                _ => WaitStrategyKind.Blocking,
            };
            flush = options.Duration("flush_interval") ?? flush;
            options.RejectUnknownKeys("options");
        }
        context.BatchCapacity = batchCapacity;
        var alerts = root.Child("alerts");
        if (alerts is not null && !alerts.IsMapping) alerts.Error("'alerts' must be a mapping, e.g. { cooldown: 30m, sinks: [ { kind: parquet, path: alerts/ } ] }");
        context.AlertCooldown = alerts?.Duration("cooldown") ?? TimeSpan.Zero;

        var source = ReadComponent(root.Child("source"), "source", registry.Sources, context, root, required: true);

        var operators = new List<SpecStage<Engine.IBatchOperator>>();
        foreach (var section in ComponentRegistry.SectionOrder)
        {
            if (root.Child(section) is not { } node) continue;
            if (!registry.Sections.TryGetValue(section, out var factory))
            {
                node.Error($"the '{section}' section needs the {section} operator, which this build of StreamMl does not include");
                continue;
            }
            if (factory(node, context) is { } create) operators.Add(new SpecStage<Engine.IBatchOperator>(section, node.Line, node.Column, create));
        }

        foreach (var section in ComponentRegistry.SectionOrder) root.Has(section);
        var sinks = new List<SpecStage<Engine.IBatchSink>>();
        if (root.Child("sinks") is { } sinkList)
        {
            foreach (var item in sinkList.Items())
                if (ReadComponent(item, item.Path, registry.Sinks, context, root, required: true) is { } sink) sinks.Add(sink);
        }

        var alertSinks = new List<SpecStage<Engine.IBatchSink>>();
        if (alerts is { IsMapping: true })
        {
            if (alerts.Child("sinks") is { } alertSinkList)
                foreach (var item in alertSinkList.Items())
                    if (ReadComponent(item, item.Path, registry.Sinks, context, root, required: true) is { } sink) alertSinks.Add(sink);
            alerts.RejectUnknownKeys("alerts");
        }

        root.RejectUnknownKeys("the spec");

        if (errors.Any || source is null) return null;
        return new CompiledSpec
        {
            Name = name,
            Text = text,
            Source = source,
            Operators = operators,
            Sinks = sinks,
            AlertSinks = alertSinks,
            AlertCooldown = context.AlertCooldown,
            BatchCapacity = batchCapacity,
            RingSize = ringSize,
            SizeLine = sizeLine,
            SizeColumn = sizeColumn,
            WaitStrategy = wait,
            FlushInterval = flush,
        };
    }

    /// <summary>1 to 100 ASCII letters, digits, '-', '_' or '.', and not '.' or '..' (names become folder and file names
    /// in places, where those two mean "here" and "the parent").</summary>
    internal static bool IsValidName(string name) =>
        name.Length is > 0 and <= 100 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static SpecStage<T>? ReadComponent<T>(SpecNode? node, string what, Dictionary<string, ComponentFactory<T>> factories,
        SpecContext context, SpecNode root, bool required)
    {
        if (node is null)
        {
            if (required) root.Error($"'{what}' is required");
            return null;
        }
        if (!node.IsMapping)
        {
            node.Error($"'{what}' must be a mapping with a 'kind'");
            return null;
        }
        var kind = node.String("kind", required: true);
        if (kind is null) return null;
        if (!factories.TryGetValue(kind, out var factory))
        {
            node.Child("kind")!.Error($"unknown {(what == "source" ? "source" : "sink")} kind '{kind}'; known kinds: {string.Join(", ", factories.Keys.Order(StringComparer.Ordinal))}");
            return null;
        }
        var create = factory(node, context);
        node.RejectUnknownKeys($"{what} ({kind})");
        return create is null ? null : new SpecStage<T>(kind.ToLowerInvariant(), node.Line, node.Column, create);
    }
}
