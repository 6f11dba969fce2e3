using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamMl.Host.Registry;

/// <summary>The fingerprint of the data a model was trained on: enough to tell whether two models saw the same rows.</summary>
public sealed record DataFingerprint
{
    /// <summary>Where the rows came from (file path or source description).</summary>
    public string Source { get; init; } = "";

    /// <summary>Rows used (after the spec's filters).</summary>
    public long Rows { get; init; }

    /// <summary>Column names, in order.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>SHA-256 (hex) of the rows' values as read, in order.</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>Hashes of the rows the final model was fitted on, so <c>evaluate</c> can tell when it is shown them
    /// again; null in versions registered before it was kept.</summary>
    public RowSample? TrainingRows { get; init; }
}

/// <summary>One file of a model version and its checksum.</summary>
public sealed record ManifestFile(string Name, long Length, string Sha256);

/// <summary>What a version folder holds and where it came from. Written last, after every file it lists: a version
/// without a manifest, or whose files do not match it, is incomplete or corrupt and is refused.</summary>
public sealed record ModelManifest
{
    /// <summary>Model name.</summary>
    public string Name { get; init; } = "";

    /// <summary>Version number, from 1.</summary>
    public int Version { get; init; }

    /// <summary>binary, multiclass or regression.</summary>
    public string Task { get; init; } = "";

    /// <summary>Trainer name.</summary>
    public string Trainer { get; init; } = "";

    /// <summary>Name of the target column.</summary>
    public string Target { get; init; } = "";

    /// <summary>Decision threshold applied to the probability of class 1 at scoring (binary), else null.</summary>
    public double? Threshold { get; init; }

    /// <summary>When the version was registered (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; init; }

    /// <summary>The production version of the same model when this one was trained: lineage.</summary>
    public int? Parent { get; init; }

    /// <summary>The hyper-parameters the spec set (absent ones took the trainer's defaults).</summary>
    public IReadOnlyDictionary<string, double> Hyperparameters { get; init; } = new Dictionary<string, double>();

    /// <summary>The full training spec as run (paths resolved); null in versions registered before it was kept.</summary>
    public JsonElement? Spec { get; init; }

    /// <summary>The champion/challenger comparison made when this version was trained, or null when there was no
    /// production version (or the gate was off).</summary>
    public ChampionDecision? Champion { get; init; }

    /// <summary>The training data.</summary>
    public DataFingerprint? Data { get; init; }

    /// <summary>Why and from what this version was retrained automatically (a spec's <c>retrain:</c> policy); null for
    /// versions trained by hand.</summary>
    public RetrainLineage? Retrain { get; init; }

    /// <summary>Headline metrics (cross-validated means and held-out values) for listings.</summary>
    public IReadOnlyDictionary<string, double> Headline { get; init; } = new Dictionary<string, double>();

    /// <summary>Every file of the version except the manifest.</summary>
    public IReadOnlyList<ManifestFile> Files { get; init; } = [];

    /// <summary>Format of this manifest.</summary>
    [JsonPropertyName("format")]
    public int Format { get; init; } = 1;
}
