using System.Globalization;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;
using StreamMl.Operators.Features;
using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Models;

/// <summary>Makes the versions of an on-disk model registry (Registry/) deployable: each version becomes a
/// <see cref="ModelEntry"/> whose scorers run the version's fitted feature pipeline and ONNX model.</summary>
internal static class RegistryModels
{
    /// <summary>Adds <paramref name="root"/>'s versions to <paramref name="catalog"/>. An empty version asks for the
    /// production version, or the latest when none is promoted.</summary>
    public static void Attach(ModelCatalog catalog, string root)
    {
        var registry = new ModelRegistry(root);
        catalog.AddResolver(
            (name, version) =>
            {
                if (!Directory.Exists(registry.Root) || !registry.Models().Contains(name)) return null;
                if (version.Length == 0)
                {
                    var retired = registry.Stages(name).Retired;
                    var chosen = registry.Production(name)
                        ?? (registry.Versions(name).Where(v => !retired.Contains(v)).ToList() is { Count: > 0 } all ? registry.Open(name, all.Max()) : null);
                    return chosen is null ? null : Entry(registry, chosen);
                }
                if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || !registry.Versions(name).Contains(v)) return null;
                registry.RequireNotRetired(name, v, "deployed");
                return Entry(registry, registry.Open(name, v));
            },
            () => Directory.Exists(registry.Root)
                ? registry.Models().SelectMany(name => registry.Versions(name).Select(v => Entry(registry, registry.Open(name, v))))
                : []);
    }

    /// <summary>Refuses a registry version that has been retired since it was loaded (the catalog keeps entries):
    /// a <see cref="RegistryException"/> saying it cannot be <paramref name="use"/>. Other entries pass.</summary>
    public static ModelEntry RequireDeployable(ModelEntry entry, string use)
    {
        if (entry.Lineage.TryGetValue("registry", out var root)
            && int.TryParse(entry.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            new ModelRegistry(root).RequireNotRetired(entry.Name, version, use);
        return entry;
    }

    /// <summary>The class labels stored in the version's schema.json (training writes them), else 0 and 1.</summary>
    private static string[] ClassesOf(ModelVersion version)
    {
        using var schema = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(version.PathOf(ModelPackage.SchemaFile)));
        return schema.RootElement.TryGetProperty("classes", out var classes) && classes.ValueKind == System.Text.Json.JsonValueKind.Array
            ? [.. classes.EnumerateArray().Select(c => c.ToString())]
            : ["0", "1"];
    }

    private static ModelEntry Entry(ModelRegistry registry, ModelVersion version)
    {
        var manifest = version.Manifest;
        var lineage = new Dictionary<string, string>
        {
            ["registry"] = registry.Root,
            ["stage"] = version.Stage.ToString().ToLowerInvariant(),
            ["task"] = manifest.Task,
            ["trainer"] = manifest.Trainer,
            ["target"] = manifest.Target,
            ["created"] = manifest.CreatedUtc.ToString("O", CultureInfo.InvariantCulture),
            ["features"] = version.PathOf(ModelPackage.FeaturesFile),
            ["profile"] = version.PathOf(ModelPackage.ProfileFile),
        };
        if (manifest.Parent is { } parent) lineage["parent"] = parent.ToString(CultureInfo.InvariantCulture);
        if (manifest.Data is { } data)
        {
            lineage["data"] = data.Source;
            lineage["data_rows"] = data.Rows.ToString(CultureInfo.InvariantCulture);
            lineage["data_sha256"] = data.Sha256;
        }
        var inputs = Operators.Features.FeaturePipeline.Load(version.PathOf(ModelPackage.FeaturesFile)).Inputs.Select(f => f.Name).ToArray();
        return new ModelEntry(version.Name, version.Version.ToString(CultureInfo.InvariantCulture), "onnx", inputs,
            () => new RegistryModelScorer(RegisteredModel.Load(version)), manifest.Headline, lineage)
        {
            Task = manifest.Task.ToLowerInvariant(),
            Threshold = manifest.Threshold ?? 0.5,
            Classes = manifest.Task == "regression" ? [] : ClassesOf(version),
        };
    }
}

/// <summary>Scores with a registered version: its feature pipeline computes the model's inputs in a scratch batch (the
/// router's batches do not carry feature columns, and a deploy may change which features are needed), then the
/// operators' <see cref="ScoringOperator"/> scores them through ONNX Runtime's IO binding over pinned buffers, and the
/// version's decision step turns its outputs into one score per row. Nothing is allocated per batch once a batch of
/// each length has been seen (ONNX Runtime needs tensors of each shape once).</summary>
internal sealed class RegistryModelScorer : IModelScorer
{
    private readonly RegisteredModel _model;
    private readonly FeaturePipeline _features;
    private readonly RegisteredModel.ScoringStages _stages;
    private readonly IBatchOperator[] _operators;
    private readonly string[] _inputs;
    private readonly StageContext _context = StageContext.Standalone("registry-model");
    private int[] _sourceColumns = [];
    private Schema _scratchSchema = Schema.Empty;
    private ColumnBatch? _scratch;
    private int _decision = -1;
    private int[] _classColumns = [];

    public RegistryModelScorer(RegisteredModel model)
    {
        _model = model;
        // A pipeline of its own: Bind records column positions, and each chain binds its own scratch schema.
        _features = model.Features.Clone();
        _stages = model.CreateScoringOperators();
        _operators = [_features, .. _stages.Operators];
        _inputs = [.. model.Features.Inputs.Select(f => f.Name)];
    }

    public IReadOnlyList<string> Inputs => _inputs;

    public void Bind(Schema schema)
    {
        _sourceColumns = [.. _inputs.Select(name => schema.Require(name))];
        var scratch = new Schema(_sourceColumns.Select(i => schema[i]));
        foreach (var op in _operators) scratch = op.Bind(scratch);
        _scratchSchema = scratch;
        _decision = scratch.Require("decision_score", ColumnType.Float32);
        _classColumns = _model.Task == Operators.Learners.LearningTask.Multiclass
            ? [.. Enumerable.Range(0, scratch.Count).Where(i => scratch[i].Name.StartsWith("score_", StringComparison.Ordinal))]
            : [];
    }

    public int ClassCount => _classColumns.Length;

    public void ClassScores(int row, Span<float> destination)
    {
        for (var c = 0; c < _classColumns.Length; c++) destination[c] = _scratch!.Values<float>(_classColumns[c])[row];
    }

    public void Score(ColumnBatch batch, Span<float> scores)
    {
        var n = batch.Length;
        if (n == 0) return;
        if (_scratch is null || _scratch.Capacity < batch.Capacity)
        {
            _scratch?.Dispose();
            _scratch = new ColumnBatch(_scratchSchema, batch.Capacity);
        }
        _scratch.Reset();
        _scratch.Length = n;
        for (var i = 0; i < _sourceColumns.Length; i++) CopyColumn(batch[_sourceColumns[i]], _scratch[i], n);
        for (var i = 0; i < _operators.Length; i++) _operators[i].Process(_scratch, _context);
        _scratch.Values<float>(_decision)[..n].CopyTo(scores);
    }

    private static void CopyColumn(Column from, Column to, int n)
    {
        // Same type on both sides: copy the bytes (Values<T> checks the type, not only the size).
        var size = ColumnTypes.SizeOf(from.Type);
        from.RawValues[..(n * size)].CopyTo(to.RawValues);
        if (from.Dictionary is { } dictionary) to.Dictionary!.CopyFrom(dictionary);
        if (!from.MayHaveNulls) return;
        for (var r = 0; r < n; r++)
            if (!from.IsValid(r)) to.SetNull(r);
    }

    public void Dispose()
    {
        _scratch?.Dispose();
        _stages.Dispose();
        _model.Dispose();
    }
}
