using System.Text.RegularExpressions;

namespace StreamMl.Connectors.Internal;

/// <summary>Removes secret values from text before it reaches a log: the values a connector knows (passwords, tokens)
/// and anything that looks like <c>password=...</c> in a client library's own message.</summary>
internal sealed partial class Redaction
{
    private readonly string[] _values;

    public Redaction(IEnumerable<string?> values) =>
        _values = values.Where(v => !string.IsNullOrEmpty(v) && v.Length >= 3).Distinct().Cast<string>().ToArray();

    public static Redaction None { get; } = new([]);

    public string Apply(string text)
    {
        foreach (var value in _values)
            if (text.Contains(value, StringComparison.Ordinal)) text = text.Replace(value, "***", StringComparison.Ordinal);
        return SecretAssignment().Replace(text, "$1=***");
    }

    // Key=value pairs whose key names a secret, as client libraries print them in configuration dumps.
    [GeneratedRegex(@"(?i)\b((?:sasl\.)?password|passwd|pwd|ssl\.key\.password|token|api[_-]?key|secret)\s*=\s*[^;,\s]+")]
    private static partial Regex SecretAssignment();
}
