using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace StreamMl.Host.Specs;

/// <summary>A YAML (or JSON, which YAML reads too) node of a spec with its position. Typed getters record an error
/// with line and column instead of throwing, and remember which keys were read so unknown keys can be reported.</summary>
internal sealed class SpecNode
{
    private readonly YamlNode _node;
    private readonly SpecErrors _errors;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public SpecNode(YamlNode node, SpecErrors errors, string path)
    {
        _node = node;
        _errors = errors;
        Path = path;
    }

    /// <summary>Where the node is, like <c>sinks[1]</c>, for messages.</summary>
    public string Path { get; }

    public int Line => checked((int)_node.Start.Line);

    public int Column => checked((int)_node.Start.Column);

    public bool IsMapping => _node is YamlMappingNode;

    public bool IsSequence => _node is YamlSequenceNode;

    public bool IsScalar => _node is YamlScalarNode;

    public string? ScalarValue => (_node as YamlScalarNode)?.Value;

    public SpecErrors Errors => _errors;

    /// <summary>The longest spec text read, in characters (1 MiB). Real specs are a few kilobytes; the limit keeps a
    /// CreatePipeline call of 64 MB from being parsed at all.</summary>
    public const int MaxTextLength = 1 << 20;

    /// <summary>The deepest nesting of mappings and sequences read (64). Real specs nest about five levels; YamlDotNet
    /// builds its node tree recursively, so 30,000 levels of <c>[[[</c> overflowed the stack and killed the process.</summary>
    public const int MaxDepth = 64;

    /// <summary>Parses spec text. Syntax errors are recorded with their position and null is returned.</summary>
    public static SpecNode? Parse(string text, SpecErrors errors)
    {
        if (!WithinLimits(text, errors)) return null;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            errors.Add(checked((int)ex.Start.Line), checked((int)ex.Start.Column), $"not valid YAML or JSON: {Inner(ex).Message}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this when the text ends inside a flow collection: point at the end.
            var lines = text.TrimEnd().Split('\n');
            errors.Add(lines.Length, lines[^1].Length + 1, "not valid YAML or JSON: the text ends inside a { } or [ ] collection that is never closed");
            return null;
        }
        if (stream.Documents.Count == 0)
        {
            errors.Add(1, 1, "the spec is empty: it needs at least 'name', 'source' and 'sinks'");
            return null;
        }
        var root = new SpecNode(stream.Documents[0].RootNode, errors, "");
        if (!root.IsMapping)
        {
            errors.Add(root, "the spec must be a mapping with keys such as name, source, validation, features, model, drift, sinks");
            return null;
        }
        return root;
    }

    /// <summary>Checks size and nesting before the node tree is built: the parser's event stream is read with a depth
    /// counter (it keeps its own state on the heap), and the first collection past <see cref="MaxDepth"/> is reported.</summary>
    internal static bool WithinLimits(string text, SpecErrors errors)
    {
        if (text.Length > MaxTextLength)
        {
            var (line, column) = Position(text, MaxTextLength);
            errors.Add(line, column, $"the spec is {text.Length:N0} characters long; a spec may have at most {MaxTextLength:N0} (this is where the limit is reached)");
            return false;
        }
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                        if (++depth > MaxDepth)
                        {
                            var start = parser.Current!.Start;
                            errors.Add(checked((int)start.Line), checked((int)start.Column),
                                $"the spec nests mappings and lists more than {MaxDepth} levels deep here; a spec needs only a few levels");
                            return false;
                        }
                        break;
                    case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException)
        {
            // Syntax errors are reported by the full parse below, with the same positions.
        }
        return true;
    }

    /// <summary>The 1-based line and column of character <paramref name="index"/>.</summary>
    private static (int Line, int Column) Position(string text, int index)
    {
        var span = text.AsSpan(0, index);
        var line = span.Count('\n') + 1;
        return (line, index - span.LastIndexOf('\n'));
    }

    private static Exception Inner(Exception ex) => ex.InnerException is YamlException inner ? Inner(inner) : ex;

    public IEnumerable<string> Keys => _node is YamlMappingNode map
        ? map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "")
        : [];

    public bool Has(string key) => Child(key) is not null;

    /// <summary>The child under <paramref name="key"/>, or null; marks the key as read.</summary>
    public SpecNode? Child(string key)
    {
        if (_node is not YamlMappingNode map) return null;
        _read.Add(key);
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode s && s.Value == key) return new SpecNode(v, _errors, Join(key));
        return null;
    }

    /// <summary>The children of a sequence (an error when the node is not one).</summary>
    public IReadOnlyList<SpecNode> Items()
    {
        if (_node is YamlSequenceNode seq)
            return [.. seq.Children.Select((n, i) => new SpecNode(n, _errors, $"{Path}[{i}]"))];
        _errors.Add(this, $"'{Path}' must be a list");
        return [];
    }

    /// <summary>A required or optional string.</summary>
    public string? String(string key, bool required = false, string? fallback = null)
    {
        var child = Child(key);
        if (child is null)
        {
            if (required) _errors.Add(this, $"'{Join(key)}' is required");
            return fallback;
        }
        if (!child.IsScalar)
        {
            _errors.Add(child, $"'{child.Path}' must be a single value");
            return fallback;
        }
        return child.ScalarValue;
    }

    /// <summary>One of <paramref name="allowed"/> (case-insensitive), returned in lower case.</summary>
    public string? Choice(string key, string[] allowed, bool required = false, string? fallback = null)
    {
        var value = String(key, required, null);
        if (value is null) return fallback;
        var lower = value.ToLowerInvariant();
        if (Array.IndexOf(allowed, lower) >= 0) return lower;
        _errors.Add(Child(key)!, $"'{Join(key)}' is '{value}'; use one of: {string.Join(", ", allowed)}");
        return fallback;
    }

    public double? Double(string key, bool required = false, double? min = null, double? max = null)
    {
        var text = String(key, required);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
        {
            _errors.Add(Child(key)!, $"'{Join(key)}' must be a number, got '{text}'");
            return null;
        }
        return CheckRange(key, value, min, max) ? value : null;
    }

    public long? Long(string key, bool required = false, long? min = null, long? max = null)
    {
        var text = String(key, required);
        if (text is null) return null;
        if (!long.TryParse(text.Replace("_", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            _errors.Add(Child(key)!, $"'{Join(key)}' must be a whole number, got '{text}'");
            return null;
        }
        return CheckRange(key, value, min, max) ? value : null;
    }

    public int? Int(string key, bool required = false, int? min = null, int? max = null) =>
        (int?)Long(key, required, min ?? int.MinValue, max ?? int.MaxValue);

    public bool? Bool(string key)
    {
        var text = String(key);
        if (text is null) return null;
        if (bool.TryParse(text, out var value)) return value;
        _errors.Add(Child(key)!, $"'{Join(key)}' must be true or false, got '{text}'");
        return null;
    }

    public TimeSpan? Duration(string key)
    {
        var text = String(key);
        if (text is null) return null;
        if (TryParseDuration(text, out var value)) return value;
        _errors.Add(Child(key)!, $"'{Join(key)}' must be a duration such as 500ms, 10s, 5m or 1h, got '{text}'");
        return null;
    }

    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (suffix, ms) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            if (!double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
            value = TimeSpan.FromMilliseconds(n * ms);
            return true;
        }
        return false;
    }

    /// <summary>A list of strings, also accepted as one comma-separated string.</summary>
    public IReadOnlyList<string>? Strings(string key, bool required = false)
    {
        var child = Child(key);
        if (child is null)
        {
            if (required) _errors.Add(this, $"'{Join(key)}' is required");
            return null;
        }
        if (child.IsScalar)
            return (child.ScalarValue ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var list = new List<string>();
        foreach (var item in child.Items())
        {
            if (item.IsScalar) list.Add(item.ScalarValue ?? "");
            else _errors.Add(item, $"'{item.Path}' must be a single value");
        }
        return list;
    }

    /// <summary>A mapping of names to numbers (model weights, for example).</summary>
    public IReadOnlyDictionary<string, double>? NumberMap(string key, bool required = false)
    {
        var child = Child(key);
        if (child is null)
        {
            if (required) _errors.Add(this, $"'{Join(key)}' is required");
            return null;
        }
        if (!child.IsMapping)
        {
            _errors.Add(child, $"'{child.Path}' must be a mapping of names to numbers");
            return null;
        }
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in child.Keys.ToList())
        {
            var value = child.Double(name, required: true);
            if (value is { } v) result[name] = v;
        }
        return result;
    }

    /// <summary>Records an error for every key of this mapping that no getter read.</summary>
    public void RejectUnknownKeys(string what)
    {
        if (_node is not YamlMappingNode map) return;
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (_read.Contains(name)) continue;
            var known = _read.Count == 0 ? "" : $"; known keys: {string.Join(", ", _read.Order(StringComparer.Ordinal))}";
            _errors.Add(checked((int)key.Start.Line), checked((int)key.Start.Column), $"unknown key '{name}' in {what}{known}");
        }
    }

    public void Error(string message) => _errors.Add(this, message);

    private bool CheckRange<T>(string key, T value, T? min, T? max) where T : struct, IComparable<T>
    {
        if ((min is { } lo && value.CompareTo(lo) < 0) || (max is { } hi && value.CompareTo(hi) > 0))
        {
            var range = (min, max) switch
            {
                ({ } a, { } b) => $"between {a} and {b}",
                ({ } a, null) => $"at least {a}",
                (null, { } b) => $"at most {b}",
                _ => "",
            };
            _errors.Add(Child(key)!, $"'{Join(key)}' must be {range}, got {value}");
            return false;
        }
        return true;
    }

    private string Join(string key) => Path.Length == 0 ? key : $"{Path}.{key}";
}
