using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace StreamMl.Host.Training;

/// <summary>Turns the YAML and JSON readers' errors about a training spec into the user's words: the section and key,
/// the keys that section accepts (with a "did you mean" for a near miss), and the kind of value expected — never a .NET
/// type name.</summary>
internal static partial class SpecErrors
{
    // Each spec class, by the section of the spec it reads.
    private static readonly Dictionary<Type, string> s_sections = new()
    {
        [typeof(TrainSpec)] = "the top level",
        [typeof(DataSpec)] = "data",
        [typeof(FeatureStepSpec)] = "a feature step",
        [typeof(HyperparameterSpec)] = "hyperparameters",
        [typeof(ValidationSpec)] = "validation",
        [typeof(ImbalanceSpec)] = "imbalance",
        [typeof(ThresholdSpec)] = "threshold",
        [typeof(GateSpec)] = "gates",
        [typeof(RegistrySpec)] = "registry",
        [typeof(SearchSpec)] = "search",
        [typeof(EnsembleSpec)] = "search.ensemble",
    };

    [GeneratedRegex(@"Property '(?<key>[^']*)' not found on type '(?<type>[^']+)'")]
    private static partial Regex YamlUnknownKey();

    [GeneratedRegex(@"The JSON property '(?<key>[^']*)' could not be mapped to any \.NET member contained in type '(?<type>[^']+)'")]
    private static partial Regex JsonUnknownKey();

    // YamlDotNet's "No node deserializer was able to deserialize the node into type <assembly-qualified name>": a
    // sequence or mapping where a scalar (or the other way round) belongs. The name up to its first comma or bracket.
    [GeneratedRegex(@"^No node deserializer was able to deserialize the node into type (?:System\.Nullable`1\[\[)?(?<type>[^,\[\]]+)")]
    private static partial Regex YamlNoDeserializer();

    [GeneratedRegex(@"'?(?:System\.Nullable`1\[)?(?<type>(?:System|StreamMl)\.[A-Za-z0-9_.]*[A-Za-z0-9_](?:`1\[[^\]]*\])?)\]?'?")]
    private static partial Regex TypeName();

    /// <summary>The message for a YamlDotNet error (its position is added by the caller).</summary>
    public static string Explain(YamlDotNet.Core.YamlException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        if (YamlUnknownKey().Match(e.Message) is { Success: true } m) return UnknownKey(m.Groups["key"].Value, m.Groups["type"].Value);
        if (message.StartsWith("Invalid cast from 'System.String' to '", StringComparison.Ordinal)
            && TypeName().Matches(message) is { Count: 2 } names && SectionOf(names[1].Groups["type"].Value) is { } section)
            return $"{section} must be a mapping of keys ({string.Join(", ", KeysOf(names[1].Groups["type"].Value))}), not a single value";
        if (YamlNoDeserializer().Match(message) is { Success: true } shape)
            return $"the value here is not {Expected(shape.Groups["type"].Value)}";
        if (e.InnerException is OverflowException) return "the number is too large here";
        if (e.InnerException is FormatException)
            return $"{Words(message)} (expected a number here)";
        return Words(message);
    }

    /// <summary>The message for a System.Text.Json error (its position is added by the caller).</summary>
    public static string Explain(JsonException e)
    {
        if (JsonUnknownKey().Match(e.Message) is { Success: true } m) return UnknownKey(m.Groups["key"].Value, m.Groups["type"].Value);
        var path = e.Path is { Length: > 2 } p ? p[2..] : null;
        if (e.Message.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal) && path is not null)
        {
            var type = TypeName().Match(e.Message) is { Success: true } t ? t.Groups["type"].Value : "";
            return $"the value of '{path}' is not {Expected(type)}";
        }
        var text = e.Message;
        var cut = text.IndexOf(" Path: ", StringComparison.Ordinal);
        return Words(cut > 0 ? text[..cut] : text) + (path is null ? "" : $" (at '{path}')");
    }

    private static string UnknownKey(string key, string typeName)
    {
        var keys = KeysOf(typeName);
        var section = SectionOf(typeName) ?? "this section";
        var guess = keys.FirstOrDefault(k => Normal(k) == Normal(key)) ?? keys.FirstOrDefault(k => Distance(Normal(k), Normal(key)) <= 2);
        return $"unknown key '{key}' in {section}{(guess is null ? "" : $" (did you mean '{guess}'?)")}; valid keys: {string.Join(", ", keys)}";
    }

    private static string? SectionOf(string typeName) => s_sections.FirstOrDefault(kv => kv.Key.FullName == typeName).Value;

    private static IReadOnlyList<string> KeysOf(string typeName)
    {
        var type = s_sections.Keys.FirstOrDefault(t => t.FullName == typeName);
        if (type is null) return [];
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetCustomAttribute<YamlIgnoreAttribute>() is null)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToArray();
    }

    private static string Expected(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" or "System.Single" => "a number",
        "System.Boolean" => "true or false",
        "System.String" => "text",
        _ when type.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) => "a list",
        _ when SectionOf(type) is { } section => $"a mapping of the keys of {section} ({string.Join(", ", KeysOf(type))})",
        _ => "of the expected kind",
    };

    // Any .NET type name left in a reader's message becomes the kind of value it stands for.
    private static string Words(string message) => TypeName().Replace(message, m => Expected(m.Groups["type"].Value));

    private static string Normal(string key) => key.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>Levenshtein distance (insertions, deletions, substitutions): how near a misspelt name is to a known
    /// one, for the "did you mean" of spec errors.</summary>
    internal static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
