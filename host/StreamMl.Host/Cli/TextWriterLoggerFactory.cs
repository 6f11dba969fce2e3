using Microsoft.Extensions.Logging;

namespace StreamMl.Host.Cli;

/// <summary>Writes log lines at or above a level to a text writer (the CLI's standard error), one line each:
/// <c>warn: StreamMl.Connectors.Kafka[6002] kafka source t: lost t[0]</c>. Connectors redact their secrets before logging.</summary>
internal sealed class TextWriterLoggerFactory(TextWriter writer, LogLevel minimum) : ILoggerFactory
{
    private readonly LogLevel _minimum = minimum;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("this factory writes to one text writer only");

    public void Dispose() { }

    private void Write(LogLevel level, string category, EventId id, string message, Exception? exception)
    {
        var tag = level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
        var line = exception is null ? $"{tag}: {category}[{id.Id}] {message}" : $"{tag}: {category}[{id.Id}] {message}: {exception.Message}";
        lock (writer) writer.WriteLine(line);
    }

    private sealed class Logger(TextWriterLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(logLevel, category, eventId, formatter(state, exception), exception);
        }
    }
}
