using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Registry;

/// <summary>A registered version that passed its checksum test.</summary>
public sealed record ModelVersion(string Name, int Version, string Folder, ModelStage Stage, ModelManifest Manifest)
{
    /// <summary>Full path of one of the version's files.</summary>
    public string PathOf(string file) => Path.Combine(Folder, file);
}

/// <summary>One stage change, for the audit trail.</summary>
public sealed record StageEvent(DateTimeOffset AtUtc, string Action, int Version, int? Previous, string? Reason);

/// <summary>The stages of a model's versions (stored in stages.json beside the versions).</summary>
public sealed record StageBook
{
    /// <summary>The serving version, or null.</summary>
    public int? Production { get; init; }

    /// <summary>Archived versions.</summary>
    public IReadOnlyList<int> Archived { get; init; } = [];

    /// <summary>Retired versions: never deployed or promoted again.</summary>
    public IReadOnlyList<int> Retired { get; init; } = [];

    /// <summary>Every promotion, rollback, retirement and rollout step, oldest first.</summary>
    public IReadOnlyList<StageEvent> History { get; init; } = [];

    /// <summary>The stage of a version.</summary>
    public ModelStage StageOf(int version) =>
        Production == version ? ModelStage.Production
        : Retired.Contains(version) ? ModelStage.Retired
        : Archived.Contains(version) ? ModelStage.Archived : ModelStage.Candidate;
}

/// <summary>Models on local disk: <c>root/&lt;name&gt;/&lt;version&gt;/</c> holds model.onnx, the fitted feature pipeline, the
/// input schema, metrics, the reference profile and a manifest with each file's SHA-256, written last. A version is
/// written into a hidden staging folder and appears by one atomic rename, so readers never see half a version and
/// concurrent writers get distinct version numbers. Stage changes are serialised by a lock file and written by atomic
/// replacement of stages.json.</summary>
public sealed partial class ModelRegistry
{
    private const string StagesFile = "stages.json";
    private const string LockFile = ".lock";
    internal static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Opens (or prepares) a registry rooted at <paramref name="root"/>; the folder is created on first write.</summary>
    public ModelRegistry(string root) => Root = Path.GetFullPath(root);

    /// <summary>The registry folder.</summary>
    public string Root { get; }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    /// <summary>Registers a new version of <paramref name="name"/> as a candidate and returns it. Checks first that every
    /// required file is present, that model.onnx loads in ONNX Runtime and that the JSON files parse; on any failure
    /// nothing is left in the registry.</summary>
    public ModelVersion Register(string name, ModelPackage package)
    {
        CheckName(name);
        foreach (var required in ModelPackage.RequiredFiles)
            if (!package.Files.ContainsKey(required))
                throw new RegistryException($"model '{name}': the package has no {required}; a version needs {string.Join(", ", ModelPackage.RequiredFiles)}");
        try
        {
            using (OnnxMatrixModel.Load(package.Files[ModelPackage.ModelFile], $"model '{name}' {ModelPackage.ModelFile}")) { }
        }
        catch (StreamMlException e) when (e is not RegistryException)
        {
            throw new RegistryException(e.Message, e);
        }
        foreach (var (file, bytes) in package.Files)
        {
            if (!file.EndsWith(".json", StringComparison.Ordinal)) continue;
            try { using var _ = JsonDocument.Parse(bytes); }
            catch (JsonException e) { throw new RegistryException($"model '{name}': {file} is not valid JSON ({e.Message})", e); }
        }

        var modelFolder = Path.Combine(Root, name);
        Directory.CreateDirectory(modelFolder);
        var staging = Path.Combine(modelFolder, $".staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var files = new List<ManifestFile>();
            foreach (var (file, bytes) in package.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                WriteDurably(Path.Combine(staging, file), bytes);
                files.Add(new ManifestFile(file, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
            }
            // The version number is only known once the rename wins; the manifest is rewritten until it does.
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var version = NextVersion(modelFolder);
                var manifest = package.Manifest with
                {
                    Name = name,
                    Version = version,
                    Files = files,
                    CreatedUtc = package.Manifest.CreatedUtc == default ? DateTimeOffset.UtcNow : package.Manifest.CreatedUtc,
                };
                WriteDurably(Path.Combine(staging, ModelPackage.ManifestFile), JsonSerializer.SerializeToUtf8Bytes(manifest, s_json));
                var target = Path.Combine(modelFolder, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
                try
                {
                    Directory.Move(staging, target);
                    return new ModelVersion(name, version, target, ReadStages(modelFolder).StageOf(version), manifest);
                }
                catch (IOException) when (Directory.Exists(target))
                {
                    // Another writer took this number between our scan and our rename: take the next one.
                }
            }
            throw new RegistryException($"model '{name}': could not allocate a version number after 1000 attempts");
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>The names of the registered models.</summary>
    public IReadOnlyList<string> Models() => Directory.Exists(Root)
        ? Directory.GetDirectories(Root).Select(d => Path.GetFileName(d)!).Where(n => NamePattern().IsMatch(n)).Order().ToArray()
        : [];

    /// <summary>The version numbers of a model, ascending (including ones that may fail to open).</summary>
    public IReadOnlyList<int> Versions(string name)
    {
        CheckName(name);
        var folder = Path.Combine(Root, name);
        if (!Directory.Exists(folder)) return [];
        return Directory.GetDirectories(folder)
            .Select(d => int.TryParse(Path.GetFileName(d), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0)
            .Where(v => v > 0).Order().ToArray();
    }

    /// <summary>The stages of a model's versions.</summary>
    public StageBook Stages(string name)
    {
        CheckName(name);
        return ReadStages(Path.Combine(Root, name));
    }

    /// <summary>Opens a version after checking its manifest and every file's length and SHA-256. Throws a
    /// <see cref="RegistryException"/> for an unknown, incomplete or corrupt version.</summary>
    public ModelVersion Open(string name, int version)
    {
        CheckName(name);
        var folder = Path.Combine(Root, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!Directory.Exists(folder))
        {
            var known = Versions(name);
            throw new RegistryException(known.Count == 0
                ? $"model '{name}' is not registered in {Root}"
                : $"model '{name}' has no version {version}; versions are {string.Join(", ", known)}");
        }
        var manifestPath = Path.Combine(folder, ModelPackage.ManifestFile);
        if (!File.Exists(manifestPath))
            throw new RegistryException($"model '{name}' version {version} is incomplete: {manifestPath} is missing; register the model again");
        ModelManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllBytes(manifestPath), s_json)
                ?? throw new JsonException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new RegistryException($"model '{name}' version {version} is corrupt: {manifestPath} cannot be read ({e.Message})", e);
        }
        foreach (var required in ModelPackage.RequiredFiles)
            if (manifest.Files.All(f => f.Name != required))
                throw new RegistryException($"model '{name}' version {version} is incomplete: its manifest lists no {required}");
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(folder, file.Name);
            if (!File.Exists(path))
                throw new RegistryException($"model '{name}' version {version} is incomplete: {path} is missing");
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length != file.Length || Convert.ToHexStringLower(SHA256.HashData(bytes)) != file.Sha256)
                throw new RegistryException(
                    $"model '{name}' version {version} is corrupt: {path} does not match its checksum in the manifest; restore it or register the model again");
        }
        return new ModelVersion(name, version, folder, ReadStages(Path.Combine(Root, name)).StageOf(version), manifest);
    }

    /// <summary>Opens the production version, or returns null when the model has none.</summary>
    public ModelVersion? Production(string name)
    {
        var stages = Stages(name);
        return stages.Production is { } v ? Open(name, v) : null;
    }

    /// <summary>Makes <paramref name="version"/> the production version (the previous one is archived). A corrupt
    /// version is refused.</summary>
    public StageBook Promote(string name, int version, string? reason = null)
    {
        Open(name, version);
        return UpdateStages(name, book =>
        {
            if (book.Retired.Contains(version)) throw Retired(name, version, "promoted");
            if (book.Production == version) return book;
            var archived = book.Archived.Where(v => v != version).ToList();
            if (book.Production is { } old) archived.Add(old);
            return book with
            {
                Production = version,
                Archived = archived,
                History = [.. book.History, new StageEvent(DateTimeOffset.UtcNow, "promote", version, book.Production, reason)],
            };
        });
    }

    /// <summary>Returns production to the version that served before the current one (the current one is archived).
    /// Versions that no longer open cleanly are skipped.</summary>
    public StageBook Rollback(string name, string? reason = null)
    {
        CheckName(name);
        return UpdateStages(name, book =>
        {
            if (book.Production is not { } current)
                throw new RegistryException($"model '{name}' has no production version to roll back");
            // Replaying the history as a stack (promote pushes, rollback pops) gives the versions that served
            // before the current one, in the order they would be returned to.
            var stack = new List<int>();
            foreach (var e in book.History)
            {
                if (e.Action == "promote") stack.Add(e.Version);
                else if (e.Action == "rollback")
                {
                    while (stack.Count > 0 && stack[^1] != e.Version) stack.RemoveAt(stack.Count - 1);
                    if (stack.Count == 0) stack.Add(e.Version);
                }
                else if (e.Action == "archive") stack.RemoveAll(v => v == e.Version);
            }
            for (var i = stack.Count - 1; i >= 0; i--)
            {
                var candidate = stack[i];
                if (candidate == current || book.Retired.Contains(candidate)) continue;
                try { Open(name, candidate); }
                catch (RegistryException) { continue; }
                var archived = book.Archived.Where(v => v != candidate).Append(current).ToList();
                return book with
                {
                    Production = candidate,
                    Archived = archived,
                    History = [.. book.History, new StageEvent(DateTimeOffset.UtcNow, "rollback", candidate, current, reason)],
                };
            }
            throw new RegistryException($"model '{name}': no earlier production version to roll back to (production is version {current})");
        });
    }

    /// <summary>Moves a version to the archive (retires it); archiving the production version leaves none serving.</summary>
    public StageBook Archive(string name, int version, string? reason = null)
    {
        CheckName(name);
        if (!Versions(name).Contains(version)) throw new RegistryException($"model '{name}' has no version {version}");
        return UpdateStages(name, book => book with
        {
            Production = book.Production == version ? null : book.Production,
            Archived = book.Archived.Contains(version) ? book.Archived : [.. book.Archived, version],
            History = [.. book.History, new StageEvent(DateTimeOffset.UtcNow, "archive", version, book.Production, reason)],
        });
    }

    /// <summary>Retires a version: it keeps its files and history but can no longer be deployed, promoted or rolled back
    /// to. The production version cannot be retired (promote or roll back to another first).</summary>
    public StageBook Retire(string name, int version, string? reason = null)
    {
        CheckName(name);
        if (!Versions(name).Contains(version)) throw new RegistryException($"model '{name}' has no version {version}; versions are {string.Join(", ", Versions(name))}");
        return UpdateStages(name, book =>
        {
            if (book.Production == version)
                throw new RegistryException($"model '{name}' version {version} is in production and cannot be retired; promote another version or roll back first");
            if (book.Retired.Contains(version)) return book;
            return book with
            {
                Retired = [.. book.Retired, version],
                History = [.. book.History, new StageEvent(DateTimeOffset.UtcNow, "retire", version, book.Production, reason)],
            };
        });
    }

    /// <summary>Refuses a retired version for <paramref name="use"/> (deploy, rollout): a <see cref="RegistryException"/>.</summary>
    public void RequireNotRetired(string name, int version, string use)
    {
        if (Stages(name).Retired.Contains(version)) throw Retired(name, version, use);
    }

    /// <summary>Adds an event to a model's history without changing stages (rollout steps, retraining triggers):
    /// <paramref name="action"/> names it, e.g. <c>rollout-canary</c>.</summary>
    public StageBook RecordEvent(string name, string action, int version, string? reason, DateTimeOffset? at = null)
    {
        CheckName(name);
        return UpdateStages(name, book => book with
        {
            History = [.. book.History, new StageEvent(at ?? DateTimeOffset.UtcNow, action, version, book.Production, reason)],
        });
    }

    private static RegistryException Retired(string name, int version, string use) =>
        new($"model '{name}' version {version} is retired and cannot be {use}; retired versions keep their history only");

    /// <summary>The version and its ancestors (each one's parent was production when it was trained), newest first.</summary>
    public IReadOnlyList<ModelManifest> Lineage(string name, int version)
    {
        var chain = new List<ModelManifest>();
        int? next = version;
        while (next is { } v && chain.All(m => m.Version != v))
        {
            var manifest = Open(name, v).Manifest;
            chain.Add(manifest);
            next = manifest.Parent;
        }
        return chain;
    }

    private static void CheckName(string name)
    {
        if (!NamePattern().IsMatch(name))
            throw new RegistryException($"'{name}' is not a valid model name: use letters, digits, '.', '_' and '-' (up to 100, not starting with a symbol)");
    }

    private static int NextVersion(string modelFolder)
    {
        var max = 0;
        foreach (var dir in Directory.GetDirectories(modelFolder))
            if (int.TryParse(Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
                max = Math.Max(max, v);
        return max + 1;
    }

    private static StageBook ReadStages(string modelFolder)
    {
        var path = Path.Combine(modelFolder, StagesFile);
        if (!File.Exists(path)) return new StageBook();
        try
        {
            return JsonSerializer.Deserialize<StageBook>(File.ReadAllBytes(path), s_json) ?? new StageBook();
        }
        catch (JsonException e)
        {
            throw new RegistryException($"{path} is corrupt ({e.Message}); restore it from a backup or delete it to reset every stage to candidate", e);
        }
    }

    private StageBook UpdateStages(string name, Func<StageBook, StageBook> change)
    {
        var modelFolder = Path.Combine(Root, name);
        if (!Directory.Exists(modelFolder)) throw new RegistryException($"model '{name}' is not registered in {Root}");
        using var _ = AcquireLock(Path.Combine(modelFolder, LockFile));
        var updated = change(ReadStages(modelFolder));
        var temp = Path.Combine(modelFolder, $".stages-{Guid.NewGuid():N}.tmp");
        WriteDurably(temp, JsonSerializer.SerializeToUtf8Bytes(updated, s_json));
        File.Move(temp, Path.Combine(modelFolder, StagesFile), overwrite: true);
        return updated;
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var delay = 1;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 50);
            }
        }
    }

    private static void WriteDurably(string path, byte[] bytes)
    {
        // Create, not CreateNew: a manifest is rewritten when another writer took the version number first.
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}
