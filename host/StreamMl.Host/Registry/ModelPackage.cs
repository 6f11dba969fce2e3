namespace StreamMl.Host.Registry;

/// <summary>The files of a model version before it is registered, with its metadata. <see cref="ModelRegistry.Register"/>
/// checks every required file before anything is written.</summary>
public sealed class ModelPackage
{
    /// <summary>The exported model.</summary>
    public const string ModelFile = "model.onnx";
    /// <summary>The fitted feature pipeline (JSON) that makes the model's input matrix from raw rows.</summary>
    public const string FeaturesFile = "features.json";
    /// <summary>The raw input columns the feature pipeline reads (JSON).</summary>
    public const string SchemaFile = "schema.json";
    /// <summary>Training and validation metrics (JSON).</summary>
    public const string MetricsFile = "metrics.json";
    /// <summary>The reference profile of every feature, for drift detection (JSON).</summary>
    public const string ProfileFile = "profile.json";
    /// <summary>The training spec the version was trained with (JSON; optional, kept since issue 12).</summary>
    public const string SpecFile = "spec.json";
    /// <summary>The manifest, written last.</summary>
    public const string ManifestFile = "manifest.json";

    /// <summary>Files every version must have.</summary>
    public static IReadOnlyList<string> RequiredFiles { get; } = [ModelFile, FeaturesFile, SchemaFile, MetricsFile, ProfileFile];

    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    /// <summary>Metadata; <see cref="ModelManifest.Name"/>, <see cref="ModelManifest.Version"/> and
    /// <see cref="ModelManifest.Files"/> are filled in by the registry.</summary>
    public ModelManifest Manifest { get; set; } = new();

    /// <summary>The files added so far.</summary>
    public IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <summary>Adds or replaces a file (a plain name, no folders).</summary>
    public ModelPackage Add(string name, byte[] content)
    {
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.StartsWith('.') || name == ManifestFile)
            throw new RegistryException($"'{name}' cannot be a file of a model version; use a plain file name other than {ManifestFile}");
        _files[name] = content;
        return this;
    }

    /// <summary>Adds a UTF-8 text file.</summary>
    public ModelPackage Add(string name, string text) => Add(name, System.Text.Encoding.UTF8.GetBytes(text));
}
