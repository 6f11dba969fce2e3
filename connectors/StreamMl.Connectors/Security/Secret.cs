using System.Diagnostics.CodeAnalysis;

namespace StreamMl.Connectors;

/// <summary>A password, token or key read from an environment variable or a file at the moment it is needed.
/// Its <see cref="ToString"/> never shows the value, so a secret that ends up in a log line, an exception message or a
/// debugger shows where it comes from, not what it is.</summary>
public sealed class Secret
{
    private readonly string? _variable;
    private readonly string? _path;
    private readonly string? _literal;

    private Secret(string? variable, string? path, string? literal)
    {
        _variable = variable;
        _path = path;
        _literal = literal;
    }

    /// <summary>A secret held in environment variable <paramref name="name"/>.</summary>
    public static Secret FromEnvironment(string name) => new(name, null, null);

    /// <summary>A secret held in the file at <paramref name="path"/> (trailing newlines are ignored), such as a
    /// Kubernetes or Docker secret mount.</summary>
    public static Secret FromFile(string path) => new(null, path, null);

    /// <summary>A secret given in code (tests, values already read from a vault). Prefer environment variables or files.</summary>
    public static Secret FromValue(string value) => new(null, null, value);

    /// <summary>Parses a reference as written in a pipeline spec: <c>env:NAME</c> or <c>file:/path/to/secret</c>.</summary>
    /// <exception cref="ConnectorConfigurationException">The reference has neither prefix.</exception>
    public static Secret Parse(string reference)
    {
        if (reference.StartsWith("env:", StringComparison.Ordinal)) return FromEnvironment(reference[4..]);
        if (reference.StartsWith("file:", StringComparison.Ordinal)) return FromFile(reference[5..]);
        throw new ConnectorConfigurationException(
            "a secret must be referenced as 'env:VARIABLE' or 'file:/path', not written into the spec");
    }

    /// <summary>Where the secret comes from, e.g. "environment variable KAFKA_PASSWORD".</summary>
    public string Origin => _variable is not null ? $"environment variable {_variable}"
        : _path is not null ? $"file {_path}" : "a value given in code";

    /// <summary>Reads the value. Call it where the value is handed to a client library, never to build a message.</summary>
    /// <exception cref="ConnectorConfigurationException">The variable is not set or the file cannot be read.</exception>
    public string Reveal()
    {
        if (_literal is not null) return _literal;
        if (_variable is not null)
        {
            var value = Environment.GetEnvironmentVariable(_variable);
            if (string.IsNullOrEmpty(value))
                throw new ConnectorConfigurationException($"environment variable {_variable} holding a secret is not set; export it before starting the pipeline");
            return value;
        }
        try
        {
            return File.ReadAllText(_path!).TrimEnd('\r', '\n');
        }
        catch (IOException ex)
        {
            throw new ConnectorConfigurationException($"cannot read the secret file {_path}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConnectorConfigurationException($"no permission to read the secret file {_path}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads the value, or returns false when the variable is unset or the file is missing.</summary>
    public bool TryReveal([NotNullWhen(true)] out string? value)
    {
        try
        {
            value = Reveal();
            return true;
        }
        catch (ConnectorConfigurationException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>"***" and the origin; never the value.</summary>
    public override string ToString() => $"*** (from {Origin})";
}
