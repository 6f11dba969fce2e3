using System.Collections.Concurrent;
using StreamMl.Engine;

namespace StreamMl.Host.Models;

/// <summary>The model versions the host can deploy: inline models from specs, models registered by embedding code,
/// and versions found by the resolvers (the on-disk registry). Thread-safe.</summary>
internal sealed class ModelCatalog
{
    private readonly ConcurrentDictionary<string, ModelEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<Func<string, string, ModelEntry?>> _resolvers = [];
    private readonly List<Func<IEnumerable<ModelEntry>>> _listers = [];

    /// <summary>Adds or replaces a version.</summary>
    public void Register(ModelEntry entry) => _entries[entry.Id] = entry;

    /// <summary>Adds a lookup for versions that are not registered in memory (for example a registry folder).</summary>
    public void AddResolver(Func<string, string, ModelEntry?> resolve, Func<IEnumerable<ModelEntry>> list)
    {
        lock (_resolvers)
        {
            _resolvers.Add(resolve);
            _listers.Add(list);
        }
    }

    /// <summary>The version, or null. An empty version means the latest (highest) one.</summary>
    public ModelEntry? Find(string name, string version)
    {
        version ??= "";
        if (version.Length > 0 && _entries.TryGetValue($"{name}@{version}", out var entry)) return entry;
        lock (_resolvers)
        {
            foreach (var resolve in _resolvers)
                if (resolve(name, version) is { } found) return _entries.GetOrAdd(found.Id, found);
        }
        // No resolver knows it: the latest in-memory version.
        return version.Length == 0
            ? _entries.Values.Where(e => e.Name == name).OrderBy(e => e.Version, VersionComparer.Instance).LastOrDefault()
            : null;
    }

    /// <summary>The version; throws a <see cref="StreamMlException"/> naming the known versions when it is missing.</summary>
    public ModelEntry Require(string name, string version) =>
        Find(name, version) ?? throw new StreamMlException(
            $"model '{name}' version '{(string.IsNullOrEmpty(version) ? "latest" : version)}' is not in the registry; known: " +
            (All().Any() ? string.Join(", ", All().Select(e => e.Id)) : "none (train and register one first, or put an inline model in the spec)"));

    /// <summary>Every known version.</summary>
    public IReadOnlyList<ModelEntry> All()
    {
        var all = new Dictionary<string, ModelEntry>(_entries, StringComparer.Ordinal);
        lock (_resolvers)
        {
            foreach (var list in _listers)
                foreach (var entry in list()) all.TryAdd(entry.Id, entry);
        }
        return [.. all.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.Version, VersionComparer.Instance)];
    }

    /// <summary>Orders "2" before "10" and "1.9" before "1.10"; falls back to ordinal order.</summary>
    private sealed class VersionComparer : IComparer<string>
    {
        public static readonly VersionComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = (x ?? "").TrimStart('v').Split('.');
            var b = (y ?? "").TrimStart('v').Split('.');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = long.TryParse(a[i], out var na) && long.TryParse(b[i], out var nb)
                    ? na.CompareTo(nb)
                    : string.CompareOrdinal(a[i], b[i]);
                if (c != 0) return c;
            }
            return a.Length.CompareTo(b.Length);
        }
    }
}
