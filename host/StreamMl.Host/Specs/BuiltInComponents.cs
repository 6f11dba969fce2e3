using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Specs;

/// <summary>The factory entries for every source, sink and section kind. Adding a kind is one entry here: read and
/// check the options, then return how to create the component.</summary>
internal static class BuiltInComponents
{
    public static void Register(ComponentRegistry registry)
    {
        registry.Sources["grpc"] = GrpcSource;
        ImageComponents.Register(registry);
        registry.Sources["synthetic"] = SyntheticSource;
        registry.Sinks["memory"] = MemorySinkFactory;
        registry.Sections["model"] = (node, context) => RetrainSection.Around(node, context, Model);
        registry.Sections["drift"] = Drift;
        registry.Sections["validation"] = Validation;
        registry.Sections["features"] = Features;
        registry.Sections[Recommendations.RecommendSection.Name] = Recommendations.RecommendSection.Read;
        ConnectorComponents.Register(registry);
        MonitorComponents.Register(registry);
    }

    /// <summary><c>source: { kind: grpc, columns: { name: type, ... }, required: [names], event_time: column, queue_batches: 16,
    /// checkpoint: state/ingest.json }</c>; with a checkpoint, producers' committed sequences survive a host restart.</summary>
    private static Func<PipelineRuntime, IBatchSource>? GrpcSource(SpecNode node, SpecContext context)
    {
        var schema = ReadColumns(node, "columns", node.Strings("required") ?? []);
        var eventTime = node.String("event_time");
        var queue = node.Int("queue_batches", min: 1, max: 4096) ?? 16;
        var checkpoint = node.String("checkpoint") is { } checkpointPath ? context.ResolvePath(checkpointPath) : null;
        if (schema is null) return null;
        if (eventTime is not null && (schema.IndexOf(eventTime) < 0 || schema[schema.IndexOf(eventTime)].Type != ColumnType.Timestamp))
        {
            node.Child("event_time")!.Error($"'event_time' must name a timestamp column of 'columns', got '{eventTime}'");
            return null;
        }
        var capacity = context.BatchCapacity;
        return runtime => runtime.Ingest = new GrpcIngestSource("grpc", schema, capacity, queue, eventTime,
            checkpoint is null ? null : new IngestCheckpoint(checkpoint, runtime.Producers));
    }

    /// <summary><c>source: { kind: synthetic, rows: 1000000, devices: 100, features: 8, seed: 42, interval: 10ms }</c>:
    /// generated sensor readings (columns device, timestamp, f0..fN); <c>rows: 0</c> streams without end.</summary>
    private static Func<PipelineRuntime, IBatchSource>? SyntheticSource(SpecNode node, SpecContext context)
    {
        var rows = node.Long("rows", min: 0) ?? 1_000_000;
        var devices = node.Int("devices", min: 1, max: 1_000_000) ?? 100;
        var features = node.Int("features", min: 1, max: 1024) ?? 8;
        var seed = node.Int("seed") ?? 42;
        var interval = node.Duration("interval") ?? TimeSpan.FromMilliseconds(10);
        return _ => new Connectors.Synthetic.SensorSource(new Connectors.Synthetic.SensorSourceOptions
        {
            TotalRows = rows == 0 ? null : rows,
            Devices = devices,
            Features = features,
            Seed = seed,
            Interval = interval,
        });
    }

    private static Func<PipelineRuntime, IBatchOperator>? ProfileDriftFactory(SpecNode node, SpecContext context)
    {
        var model = node.String("model", required: true);
        var version = node.String("version") ?? "";
        var window = node.Duration("window") ?? TimeSpan.FromSeconds(10);
        var features = node.Strings("features");
        var keep = node.Int("keep_windows", min: 1, max: 100_000) ?? 100;
        var minRows = node.Int("min_rows", min: 1, max: 100_000_000) ?? new Operators.Drift.DriftThresholds().MinRows;
        node.RejectUnknownKeys("drift (reference: model)");
        if (model is null) return null;
        if (window <= TimeSpan.Zero)
        {
            node.Child("window")!.Error("'drift.window' must be a positive duration such as 10s");
            return null;
        }
        var catalog = context.Catalog;
        return runtime =>
        {
            var entry = catalog.Require(model, version);
            if (!entry.Lineage.TryGetValue("profile", out var profilePath))
                throw new Engine.StreamMlException($"model {entry.Id} has no training profile: drift against the model needs a registry model");
            var state = runtime.Drift ??= new DriftState(new DriftSettings(features ?? []) { KeepWindows = keep, ReferenceRows = 0 });
            state.Reporting = runtime.Report;
            runtime.Report.SetDriftThresholds(new Operators.Drift.DriftThresholds { MinRows = minRows }, keep);
            var windows = new DriftWindows(state, runtime.Events, runtime.Name, $"the training profile of {entry.Id}", runtime.Alerts, runtime.AlertCooldown);
            var profile = Operators.Drift.ReferenceProfile.FromJson(File.ReadAllText(profilePath));
            return new Operators.Drift.DriftOperator(new Operators.Drift.DriftOptions
            {
                Profile = profile,
                Features = features,
                Window = Operators.Drift.DriftWindow.Tumbling(window),
                Thresholds = new Operators.Drift.DriftThresholds { MinRows = minRows },
                WindowHistory = Math.Min(keep, 64),
                WindowClosed = report => windows.OnWindowClosed(report, profile),
            });
        };
    }

    /// <summary>Reads <c>columns: { name: type }</c> (or a list of <c>name: type</c> entries) into a schema.</summary>
    internal static Schema? ReadColumns(SpecNode node, string key, IReadOnlyList<string> required)
    {
        var columns = node.Child(key);
        if (columns is null)
        {
            node.Error($"'{key}' is required: the input columns and their types, e.g. {{ temperature: float32, device: string }}");
            return null;
        }
        var entries = new List<(SpecNode Node, string Name, string Type)>();
        if (columns.IsMapping)
            foreach (var name in columns.Keys.ToList()) entries.Add((columns.Child(name)!, name, columns.String(name) ?? ""));
        else
            foreach (var item in columns.Items())
                foreach (var name in item.Keys.ToList()) entries.Add((item.Child(name)!, name, item.String(name) ?? ""));
        if (entries.Count == 0)
        {
            columns.Error($"'{key}' must list at least one column");
            return null;
        }
        var fields = new List<Field>();
        var ok = true;
        foreach (var (child, name, type) in entries)
        {
            try
            {
                if (fields.Any(f => f.Name == name)) throw new SchemaMismatchException($"column '{name}' appears twice");
                fields.Add(new Field(name, ColumnTypes.Parse(type), Nullable: !required.Contains(name)));
            }
            catch (SchemaMismatchException ex)
            {
                child.Error(ex.Message);
                ok = false;
            }
        }
        foreach (var name in required)
            if (!fields.Any(f => f.Name == name))
            {
                node.Child("required")!.Error($"required column '{name}' is not in '{key}'");
                ok = false;
            }
        return ok ? new Schema(fields) : null;
    }

    /// <summary><c>{ kind: memory, keep_rows: 10 }</c>: counts rows and keeps the last few.</summary>
    private static Func<PipelineRuntime, IBatchSink>? MemorySinkFactory(SpecNode node, SpecContext context)
    {
        var keep = node.Int("keep_rows", min: 0, max: 100_000) ?? 10;
        return runtime => runtime.Memory = new MemorySink(keep);
    }

    /// <summary>The model section: a registry model (<c>name</c>, optional <c>version</c>) or an inline linear one
    /// (<c>kind: linear, weights: {input: w}, bias, link: logistic|identity</c>); <c>key</c> routes A/B traffic,
    /// <c>label</c> names a column with delayed labels, <c>output</c> the score column (default <c>score</c>), <c>workers</c>
    /// the threads that score batches in parallel, order kept (default 1; docs/engine.md, "Parallel stages").</summary>
    private static Func<PipelineRuntime, IBatchOperator>? Model(SpecNode node, SpecContext context)
    {
        if (!node.IsMapping)
        {
            node.Error("'model' must be a mapping, e.g. { name: sensor-fault, version: \"1\" }");
            return null;
        }
        if (node.Child("kind")?.IsScalar == true && node.String("kind") == "image") return ImageComponents.Model(node, context);
        var kind = node.Choice("kind", ["registry", "linear"], fallback: "registry");
        var name = node.String("name", required: kind == "registry");
        var version = node.String("version") ?? "";
        var key = node.String("key");
        var label = node.String("label");
        var output = node.String("output") ?? "score";
        var workers = node.Int("workers", min: 1, max: 64) ?? 1;
        ModelEntry? inline = null;
        if (kind == "linear")
        {
            var weights = node.NumberMap("weights", required: true);
            var bias = node.Double("bias") ?? 0;
            var logistic = node.Choice("link", ["logistic", "identity"], fallback: "logistic") == "logistic";
            if (weights is { Count: > 0 })
            {
                var modelName = name ?? "inline";
                var modelVersion = version.Length > 0 ? version : "1";
                inline = new ModelEntry(modelName, modelVersion, "linear", [.. weights.Keys],
                    () => new LinearModel(weights, bias, logistic),
                    new Dictionary<string, double>(),
                    new Dictionary<string, string> { ["source"] = "inline in the pipeline spec" })
                {
                    Task = logistic ? "binary" : "regression",
                    Classes = logistic ? ["0", "1"] : [],
                };
            }
            else if (weights is not null && !node.Child("weights")!.Keys.Any()) node.Child("weights")!.Error("'model.weights' needs at least one input");
        }
        var rollout = RolloutSection.Parse(node);
        node.RejectUnknownKeys("model");
        if (kind == "linear" && inline is null) return null;
        var catalog = context.Catalog;
        return runtime =>
        {
            if (runtime.Models.Current.Primary is null)
            {
                var entry = inline ?? catalog.Require(name!, version);
                if (inline is not null) catalog.Register(inline);
                runtime.Models.Deploy(entry, 1);
            }
            if (rollout is { } r && runtime.Models.Rollout is null && name is not null)
            {
                var candidate = RegistryModels.RequireDeployable(catalog.Require(name, r.Candidate), "rolled out");
                if (!runtime.Checking) ModelRollout.Begin(runtime.Name, runtime.Models, candidate, r.Options(candidate), "spec", joinExisting: true, runtime.Logger);
            }
            if (inline is null && runtime.Models.Follower is null && !runtime.Checking)
                runtime.Models.Follower = new RolloutFollower(runtime.Name, runtime.Models, catalog, runtime.Logger).Start();
            return ScoringStage.Create(runtime.Models, output, key, label, workers);
        };
    }

    /// <summary>The validation section: a list of rules run by the Validator, in order, e.g.
    /// <c>- { rule: range, column: temperature, min: -40, max: 150, action: reject|filter|clip|null }</c>; rules are
    /// required, range, allowed (<c>values: [..]</c>), pattern (<c>pattern: regex</c>).</summary>
    private static Func<PipelineRuntime, IBatchOperator>? Validation(SpecNode node, SpecContext context)
    {
        var rules = new List<Func<Operators.Validation.ValidationRule>>();
        foreach (var item in node.Items())
        {
            var kind = item.Choice("rule", ["required", "range", "allowed", "pattern"], required: true);
            var column = item.String("column", required: true);
            var action = item.Choice("action", ["reject", "filter", "clip", "null"], fallback: "reject") switch
            {
                "filter" => Operators.Validation.RuleAction.Filter,
                "clip" => Operators.Validation.RuleAction.Clip,
                "null" => Operators.Validation.RuleAction.Null,
                _ => Operators.Validation.RuleAction.Reject,
            };
            if (kind == "range")
            {
                var min = item.Double("min") ?? double.NegativeInfinity;
                var max = item.Double("max") ?? double.PositiveInfinity;
                if (min > max) item.Error($"'{item.Path}.min' ({min}) is above max ({max})");
                if (column is not null) rules.Add(() => new Operators.Validation.RangeRule(column, min, max, action));
            }
            else if (kind == "allowed")
            {
                var values = item.Strings("values", required: true);
                if (column is not null && values is not null) rules.Add(() => new Operators.Validation.AllowedValuesRule(column, values, action));
            }
            else if (kind == "pattern")
            {
                var pattern = item.String("pattern", required: true);
                if (pattern is not null)
                {
                    try { _ = new System.Text.RegularExpressions.Regex(pattern); }
                    catch (ArgumentException ex) { item.Child("pattern")!.Error($"'pattern' is not a valid regular expression: {ex.Message}"); }
                }
                if (column is not null && pattern is not null) rules.Add(() => new Operators.Validation.PatternRule(column, pattern, action));
            }
            else if (kind == "required" && column is not null) rules.Add(() => new Operators.Validation.RequiredRule(column, action));
            item.RejectUnknownKeys($"{item.Path} ({kind})");
        }
        if (rules.Count == 0 && !node.Errors.Any) node.Error("'validation' must list at least one rule, e.g. - { rule: required, column: temperature }");
        return _ => new Operators.Validation.Validator(rules.Select(r => r()), "validate");
    }

    /// <summary>The features section: a fitted feature pipeline that writes its feature columns into every batch (for
    /// sinks, or a model that reads them): <c>features: { model: name, version: "1" }</c> takes a registry version's
    /// pipeline, <c>features: { path: features.json }</c> a saved one; <c>derive: { name: a / b }</c> adds derived
    /// features after either, or alone over the raw columns.</summary>
    private static Func<PipelineRuntime, IBatchOperator>? Features(SpecNode node, SpecContext context)
    {
        if (!node.IsMapping)
        {
            node.Error("'features' must be a mapping: { model: NAME } (the registry version's fitted pipeline) or { path: features.json }");
            return null;
        }
        var model = node.String("model");
        var version = node.String("version") ?? "";
        var path = node.String("path");
        var derive = Derive(node.Child("derive"));
        node.RejectUnknownKeys("features");
        if ((model is not null && path is not null) || (model is null && path is null && derive is not { Count: > 0 }))
        {
            node.Error("'features' needs exactly one of 'model' (a registry model) or 'path' (a saved feature pipeline), or 'derive' (derived features) alone");
            return null;
        }
        if (derive is null) return null;
        var catalog = context.Catalog;
        var file = path is null ? null : context.ResolvePath(path);
        return _ =>
        {
            if (model is null && file is null) return Operators.Features.FeaturePipeline.Derive(derive);
            var json = file ?? (catalog.Require(model!, version).Lineage.TryGetValue("features", out var f) ? f
                : throw new Engine.StreamMlException($"model '{model}' is not a registry model with a fitted feature pipeline"));
            var pipeline = Operators.Features.FeaturePipeline.Load(json);
            return derive.Count == 0 ? pipeline : pipeline.ThenDerive(derive);
        };
    }

    /// <summary><c>derive: { rooms_per_household: total_rooms / households }</c> inside the features section: each entry
    /// checked here, at its line and column. Null when an entry is wrong (the error is recorded).</summary>
    private static List<KeyValuePair<string, string>>? Derive(SpecNode? node)
    {
        var derived = new List<KeyValuePair<string, string>>();
        if (node is null) return derived;
        if (!node.IsMapping)
        {
            node.Error("'features.derive' must be a mapping of new feature names to 'a op b', e.g. { rooms_per_household: total_rooms / households }");
            return null;
        }
        var ok = true;
        foreach (var name in node.Keys)
        {
            var entry = node.Child(name)!;
            try
            {
                Operators.Features.DerivedFeature.Parse(name, entry.ScalarValue ?? "");
                derived.Add(new(name, entry.ScalarValue!));
            }
            catch (Operators.Features.FeaturePipelineException e)
            {
                entry.Error($"features.derive.{name}: {e.Message}");
                ok = false;
            }
        }
        return ok ? derived : null;
    }

    /// <summary><c>drift: { features: [..], reference_rows: 2000, window_rows: 1000, bins: 10, warning_psi: 0.1, drift_psi: 0.25 }</c>
    /// compares row windows with the first rows; <c>drift: { reference: model, model: NAME, window: 10s, min_rows: 100 }</c> runs
    /// the drift area's DriftOperator against the registry version's training profile, in event-time windows (a feature
    /// with fewer than <c>min_rows</c> values in a window is unknown, and its reason says so).</summary>
    private static Func<PipelineRuntime, IBatchOperator>? Drift(SpecNode node, SpecContext context)
    {
        if (!node.IsMapping)
        {
            node.Error("'drift' must be a mapping, e.g. { features: [temperature, vibration] }");
            return null;
        }
        var reference = node.Choice("reference", ["rows", "model"], fallback: "rows");
        if (reference == "model") return ProfileDriftFactory(node, context);
        var features = node.Strings("features", required: true);
        var settings = new DriftSettings(features ?? [])
        {
            ReferenceRows = node.Int("reference_rows", min: 10, max: 10_000_000) ?? 2000,
            WindowRows = node.Int("window_rows", min: 10, max: 10_000_000) ?? 1000,
            Bins = node.Int("bins", min: 2, max: 100) ?? 10,
            WarningPsi = node.Double("warning_psi", min: 0) ?? 0.1,
            DriftPsi = node.Double("drift_psi", min: 0) ?? 0.25,
            KeepWindows = node.Int("keep_windows", min: 1, max: 100_000) ?? 100,
        };
        node.RejectUnknownKeys("drift");
        if (features is null) return null;
        if (features.Count == 0)
        {
            node.Child("features")!.Error("'drift.features' must name at least one numeric column");
            return null;
        }
        return runtime =>
        {
            runtime.Drift ??= new DriftState(settings);
            runtime.Drift.Reporting = runtime.Report;
            runtime.Report.SetDriftThresholds(settings.Thresholds(), settings.KeepWindows);
            return RowDriftStage.Create(settings, runtime.Drift, runtime.Events, runtime.Name, runtime.Alerts, runtime.AlertCooldown);
        };
    }
}
