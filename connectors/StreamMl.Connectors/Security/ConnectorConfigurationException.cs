using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>A connector was configured in a way that cannot work: a missing secret, an unknown option, a column that
/// the source does not have. The message names the option and what to change.</summary>
public sealed class ConnectorConfigurationException : StreamMlException
{
    /// <summary>Creates the exception.</summary>
    public ConnectorConfigurationException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public ConnectorConfigurationException(string message, Exception inner) : base(message, inner) { }
}
