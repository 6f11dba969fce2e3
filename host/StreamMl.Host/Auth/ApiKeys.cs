using System.Security.Cryptography;
using System.Text;
using StreamMl.Engine;

namespace StreamMl.Host.Auth;

/// <summary>What a key may do. Roles nest: <see cref="Admin"/> may do everything, <see cref="Score"/> may also read.</summary>
public enum ApiRole
{
    /// <summary>Query drift, metrics, dead letters and models; subscribe to output.</summary>
    Read = 1,
    /// <summary>Score and ingest rows (and everything <see cref="Read"/> may).</summary>
    Score = 2,
    /// <summary>Create, start and stop pipelines; deploy and promote models (and everything else).</summary>
    Admin = 3,
}

/// <summary>One API key in configuration. Give <see cref="Hash"/> (hex SHA-256 of the key, as printed by
/// <c>streamml serve --hash-key</c>) rather than <see cref="Key"/> so the secret is not stored; a plain key is hashed
/// when it is loaded and not kept.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A label for logs (never the key). Default "key".</summary>
    public string Name { get; set; } = "key";

    /// <summary>Hex SHA-256 of the key.</summary>
    public string? Hash { get; set; }

    /// <summary>The key itself (hashed at load).</summary>
    public string? Key { get; set; }

    /// <summary>read, score or admin. Default read.</summary>
    public ApiRole Role { get; set; } = ApiRole.Read;
}

/// <summary>The configured keys, kept only as SHA-256 hashes. Lookups hash the presented key and compare hashes in
/// constant time.</summary>
internal sealed class ApiKeyStore
{
    private readonly List<(string Name, byte[] Hash, ApiRole Role)> _keys = [];

    public ApiKeyStore(IEnumerable<ApiKeyOptions> keys)
    {
        foreach (var key in keys)
        {
            byte[] hash;
            if (!string.IsNullOrEmpty(key.Hash))
            {
                try { hash = Convert.FromHexString(key.Hash); }
                catch (FormatException) { throw new StreamMlException($"API key '{key.Name}': Hash must be the hex SHA-256 of the key (64 hex digits)"); }
                if (hash.Length != 32) throw new StreamMlException($"API key '{key.Name}': Hash must be 64 hex digits (SHA-256), got {key.Hash.Length}");
            }
            else if (!string.IsNullOrEmpty(key.Key)) hash = HashKey(key.Key);
            else throw new StreamMlException($"API key '{key.Name}' has neither Hash nor Key");
            _keys.Add((key.Name, hash, key.Role));
        }
    }

    /// <summary>Every key the options configure: <see cref="Hosting.StreamMlOptions.ApiKeys"/>, the lines of
    /// <see cref="Hosting.StreamMlOptions.ApiKeyFile"/> and <c>STREAMML_API_KEYS</c>. Throws a
    /// <see cref="StreamMlException"/> naming the entry when one is unusable.</summary>
    public static ApiKeyStore FromOptions(Hosting.StreamMlOptions options)
    {
        var keys = options.ApiKeys.AsEnumerable();
        if (!string.IsNullOrEmpty(options.ApiKeyFile)) keys = keys.Concat(ParseFile(options.ApiKeyFile));
        return new ApiKeyStore(keys.Concat(ParseEnvironment(Environment.GetEnvironmentVariable("STREAMML_API_KEYS"))));
    }

    /// <summary>True when at least one key is configured: every call must then present one.</summary>
    public bool Enabled => _keys.Count > 0;

    public int Count => _keys.Count;

    public static byte[] HashKey(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The key's name and role, or null when no configured key matches.</summary>
    public (string Name, ApiRole Role)? Find(string presented)
    {
        var hash = HashKey(presented);
        (string, ApiRole)? found = null;
        // Compare against every key so the time taken does not reveal which one matched.
        foreach (var key in _keys)
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash)) found = (key.Name, key.Role);
        return found;
    }

    /// <summary>Parses <c>STREAMML_API_KEYS</c>: <c>role:key</c> or <c>role:sha256=HEX</c> entries separated by
    /// <c>;</c> or <c>,</c>, for example <c>admin:s3cret;read:sha256=9f86...</c>.</summary>
    public static IEnumerable<ApiKeyOptions> ParseEnvironment(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : Parse(value.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select((entry, i) => (entry, $"STREAMML_API_KEYS entry {i + 1}", $"env{i + 1}")));

    /// <summary>Parses <c>--api-key</c> values: <c>role:KEY</c> or <c>role:sha256=HEX</c>, several in one value
    /// separated by <c>;</c> or <c>,</c> as in <c>STREAMML_API_KEYS</c>.</summary>
    public static IEnumerable<ApiKeyOptions> ParseArguments(IEnumerable<string> values) =>
        Parse(values.SelectMany(v => v.Split([';', ','], StringSplitOptions.TrimEntries))
            .Select((entry, i) => (entry, $"--api-key {i + 1}", $"arg{i + 1}")));

    /// <summary>Parses an API key file: one <c>role:KEY</c> or <c>role:sha256=HEX</c> per line; blank lines and lines
    /// starting with <c>#</c> are skipped. Errors name the file and line (never the key).</summary>
    public static IReadOnlyList<ApiKeyOptions> ParseFile(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StreamMlException($"cannot read the API key file '{path}': {ex.Message}");
        }
        var entries = lines.Select((line, i) => (Line: line.Trim(), Number: i + 1))
            .Where(l => l.Line.Length > 0 && !l.Line.StartsWith('#'))
            .Select(l => (l.Line, $"{path}:{l.Number}", $"{Path.GetFileName(path)}:{l.Number}"));
        var keys = Parse(entries).ToList();
        if (keys.Count == 0) throw new StreamMlException($"the API key file '{path}' holds no keys: write one role:KEY or role:sha256=HEX per line");
        return keys;
    }

    /// <summary>Checks every entry now, so a host never starts with a key it cannot use: an empty key, an empty or
    /// malformed hash and an unknown role are refused with where they are.</summary>
    private static IEnumerable<ApiKeyOptions> Parse(IEnumerable<(string Entry, string Where, string Name)> entries)
    {
        foreach (var (entry, where, name) in entries)
        {
            var colon = entry.IndexOf(':');
            if (colon <= 0 || !Enum.TryParse<ApiRole>(entry[..colon], ignoreCase: true, out var role) || !Enum.IsDefined(role)
                || entry[..colon].Any(char.IsDigit))
                throw new StreamMlException($"{where} must look like admin:KEY, score:KEY or read:sha256=HEX");
            var secret = entry[(colon + 1)..].Trim();
            ApiKeyOptions key;
            if (secret.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
            {
                var hex = secret[7..].Trim();
                if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
                    throw new StreamMlException($"{where} ({role.ToString().ToLowerInvariant()}): sha256= must be followed by the 64 hex digits of the key's SHA-256 " +
                        $"(streamml serve --hash-key KEY prints them), got {(hex.Length == 0 ? "nothing" : $"{hex.Length} character(s)")}");
                key = new ApiKeyOptions { Name = name, Hash = hex, Role = role };
            }
            else
            {
                if (secret.Length == 0)
                    throw new StreamMlException($"{where} ({role.ToString().ToLowerInvariant()}): the key is empty; write {role.ToString().ToLowerInvariant()}:KEY or {role.ToString().ToLowerInvariant()}:sha256=HEX");
                key = new ApiKeyOptions { Name = name, Key = secret, Role = role };
            }
            yield return key;
        }
    }
}
