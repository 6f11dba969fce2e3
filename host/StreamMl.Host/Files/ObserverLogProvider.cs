using Microsoft.Extensions.Logging;

namespace StreamMl.Host.Files;

/// <summary>Shows the file source's log lines (rotation, truncation) among the ingest command's own messages.</summary>
internal sealed class ObserverLogProvider(IFileJobObserver observer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new ObserverLogger(observer);

    public void Dispose()
    {
    }

    private sealed class ObserverLogger(IFileJobObserver observer) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            observer.Message((logLevel >= LogLevel.Warning ? "warning: " : "") + formatter(state, exception));
        }
    }
}
