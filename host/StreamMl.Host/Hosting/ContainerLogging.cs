using Microsoft.Extensions.Logging;

namespace StreamMl.Host.Hosting;

/// <summary>The host's console logging: one line per message, or one JSON object per line on standard output for log
/// collectors (<c>streamml serve --log-format json</c>, <c>STREAMML_LOG_FORMAT=json</c>).</summary>
internal static class ContainerLogging
{
    /// <summary>Returns the logging setup for <see cref="StreamMlServer.StartAsync"/>.</summary>
    public static Action<ILoggingBuilder> Configure(bool json, LogLevel minimum) => logging =>
    {
        if (json)
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.IncludeScopes = false;
            });
        else logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(minimum);
        // ASP.NET Core's own information messages (each request) would drown the host's; its warnings still come through.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    };
}
