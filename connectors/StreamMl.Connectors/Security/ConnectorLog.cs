using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StreamMl.Connectors.Internal;

/// <summary>The connectors' log lines, with fixed event ids. Every message passes through <see cref="Redaction"/>, so
/// a secret a connector knows (or a <c>password=...</c> pair a client library prints) never reaches a log.</summary>
internal sealed class ConnectorLog
{
    private static readonly Action<ILogger, string, string, Exception?> s_info =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(6001, "ConnectorInfo"), "{Connector}: {Message}");
    private static readonly Action<ILogger, string, string, Exception?> s_warning =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(6002, "ConnectorWarning"), "{Connector}: {Message}");
    private static readonly Action<ILogger, string, string, Exception?> s_error =
        LoggerMessage.Define<string, string>(LogLevel.Error, new EventId(6003, "ConnectorError"), "{Connector}: {Message}");
    private static readonly Action<ILogger, string, string, Exception?> s_debug =
        LoggerMessage.Define<string, string>(LogLevel.Debug, new EventId(6004, "ConnectorDebug"), "{Connector}: {Message}");

    private readonly ILogger _logger;
    private readonly string _connector;

    public ConnectorLog(ILoggerFactory? factory, string category, string connector, Redaction redaction)
    {
        _logger = (factory ?? NullLoggerFactory.Instance).CreateLogger(category);
        _connector = connector;
        Redaction = redaction;
    }

    public Redaction Redaction { get; }

    public bool IsDebugEnabled => _logger.IsEnabled(LogLevel.Debug);

    public void Info(string message) => s_info(_logger, _connector, Redaction.Apply(message), null);

    public void Warning(string message) => s_warning(_logger, _connector, Redaction.Apply(message), null);

    // Exceptions are logged by message only: their text passes the redaction, their objects would not.
    public void Error(string message, Exception? ex = null) =>
        s_error(_logger, _connector, Redaction.Apply(ex is null ? message : $"{message}: {ex.GetType().Name}: {ex.Message}"), null);

    public void Debug(string message)
    {
        if (_logger.IsEnabled(LogLevel.Debug)) s_debug(_logger, _connector, Redaction.Apply(message), null);
    }

    /// <summary>Forwards a client library's own log line at the matching level.</summary>
    public void Library(LogLevel level, string message)
    {
        switch (level)
        {
            case LogLevel.Error or LogLevel.Critical: Error(message); break;
            case LogLevel.Warning: Warning(message); break;
            case LogLevel.Information: Info(message); break;
            default: Debug(message); break;
        }
    }
}
