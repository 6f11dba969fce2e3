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
    public static IEnumerable<ApiKeyOptions> ParseEnvironment(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) yield break;
        var i = 0;
        foreach (var entry in value.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            i++;
            var colon = entry.IndexOf(':');
            if (colon <= 0 || !Enum.TryParse<ApiRole>(entry[..colon], ignoreCase: true, out var role) || !Enum.IsDefined(role))
                throw new StreamMlException($"STREAMML_API_KEYS entry {i} must look like admin:KEY, score:KEY or read:sha256=HEX");
            var secret = entry[(colon + 1)..];
            yield return secret.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase)
                ? new ApiKeyOptions { Name = $"env{i}", Hash = secret[7..], Role = role }
                : new ApiKeyOptions { Name = $"env{i}", Key = secret, Role = role };
        }
    }
}
