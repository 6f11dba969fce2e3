using System.CommandLine;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Auth;
using StreamMl.Host.Hosting;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml serve</c>: the gRPC host, with optional pipelines started from specs.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var address = new Option<string>("--address")
        {
            Description = "Address to listen on (non-loopback needs API keys; default STREAMML_LISTEN_ADDRESS, else 127.0.0.1)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STREAMML_LISTEN_ADDRESS") is { Length: > 0 } listen ? listen : "127.0.0.1",
        };
        var port = new Option<int>("--port") { Description = "gRPC port (0: any free port; default STREAMML_PORT, else 50051)", DefaultValueFactory = _ => FromEnvironment("STREAMML_PORT", 50051) };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Prometheus /metrics port (-1: off; default STREAMML_METRICS_PORT, else 9464)", DefaultValueFactory = _ => FromEnvironment("STREAMML_METRICS_PORT", 9464) };
        var registry = new Option<string>("--registry")
        {
            Description = "Model registry folder (default STREAMML_REGISTRY, else ./models)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STREAMML_REGISTRY") is { Length: > 0 } folder ? folder : "models",
        };
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Logs on standard output: simple (one line each) or json (one JSON object per line; default STREAMML_LOG_FORMAT, else simple)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STREAMML_LOG_FORMAT") is { Length: > 0 } format ? format : "simple",
        };
        logFormat.AcceptOnlyFromAmong("simple", "json");
        var logLevel = new Option<LogLevel>("--log-level")
        {
            Description = "Lowest level logged (default STREAMML_LOG_LEVEL, else Warning)",
            DefaultValueFactory = _ => Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("STREAMML_LOG_LEVEL"), ignoreCase: true, out var level) ? level : LogLevel.Warning,
        };
        var httpPort = new Option<int>("--http-port") { Description = "Open Inference Protocol HTTP/JSON port for HTTP/1.1 clients (-1: off; /v2 also answers on the gRPC port over HTTP/2)", DefaultValueFactory = _ => -1 };
        var specs = new Option<FileInfo[]>("--spec")
        {
            Description = "Pipeline specs to create and start (default STREAMML_SPECS: files or folders of *.yaml, *.yml, *.json, comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var keys = new Option<string[]>("--api-key")
        {
            Description = "role:KEY or role:sha256=HEX (repeatable); adds to STREAMML_API_KEYS. Visible to every user in `ps`: prefer --api-key-file or sha256=",
        };
        var keyFile = new Option<FileInfo?>("--api-key-file") { Description = "File with one role:KEY or role:sha256=HEX per line (# comments); keeps keys out of `ps`" };
        var cert = new Option<FileInfo?>("--certificate") { Description = "PFX certificate for TLS" };
        var certPassword = new Option<string?>("--certificate-password") { Description = "Password of the certificate" };
        var budget = new Option<string?>("--memory-budget")
        {
            Description = $"Memory the pipelines' rings may take together (8GiB, 512MB, 25%); default {Hosting.MemoryBudget.EnvironmentVariable}, else half the available memory",
        };
        var maxStreams = new Option<int>("--max-streams-per-connection")
        {
            Description = "Concurrent calls per client connection, one kept for unary calls (default STREAMML_MAX_STREAMS_PER_CONNECTION, else 100)",
            DefaultValueFactory = _ => FromEnvironment("STREAMML_MAX_STREAMS_PER_CONNECTION", 100),
        };
        var maxReceive = new Option<int>("--max-receive-message-size")
        {
            Description = "Largest message the host accepts, in bytes (default STREAMML_MAX_RECEIVE_MESSAGE_SIZE, else 67108864 = 64 MiB)",
            DefaultValueFactory = _ => FromEnvironment("STREAMML_MAX_RECEIVE_MESSAGE_SIZE", StreamMlOptions.MaxMessageBytes),
        };
        var maxSend = new Option<int>("--max-send-message-size")
        {
            Description = "Largest message the host sends, in bytes (default STREAMML_MAX_SEND_MESSAGE_SIZE, else 67108864 = 64 MiB)",
            DefaultValueFactory = _ => FromEnvironment("STREAMML_MAX_SEND_MESSAGE_SIZE", StreamMlOptions.MaxMessageBytes),
        };
        var pingDelay = new Option<double>("--keepalive-ping-delay")
        {
            Description = "Seconds a connection may be idle before the host pings it; 0: no pings (default STREAMML_KEEPALIVE_PING_DELAY, else 0)",
            DefaultValueFactory = _ => FromEnvironment("STREAMML_KEEPALIVE_PING_DELAY", 0.0),
        };
        var pingTimeout = new Option<double>("--keepalive-ping-timeout")
        {
            Description = "Seconds a ping may go unanswered before the connection is closed (default STREAMML_KEEPALIVE_PING_TIMEOUT, else 20)",
            DefaultValueFactory = _ => FromEnvironment("STREAMML_KEEPALIVE_PING_TIMEOUT", 20.0),
        };
        var hashKey = new Option<string?>("--hash-key") { Description = "Print the SHA-256 of a key for configuration, and exit" };
        var command = new Command("serve", "Start the gRPC host (Control, Query, DataPlane, health, reflection, Prometheus)")
        {
            address, port, metricsPort, httpPort, specs, registry, logFormat, logLevel, keys, keyFile, budget, cert, certPassword, maxStreams, maxReceive, maxSend, pingDelay, pingTimeout, hashKey,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(hashKey) is { } plain)
            {
                output.WriteLine(Convert.ToHexString(ApiKeyStore.HashKey(plain)).ToLowerInvariant());
                return ExitCodes.Ok;
            }
            var options = new StreamMlOptions
            {
                Address = parse.GetValue(address)!,
                Port = parse.GetValue(port),
                MetricsPort = parse.GetValue(metricsPort),
                HttpPort = parse.GetValue(httpPort),
                CertificatePath = parse.GetValue(cert)?.FullName,
                CertificatePassword = parse.GetValue(certPassword),
                MemoryBudget = parse.GetValue(budget),
                MaxStreamsPerConnection = parse.GetValue(maxStreams),
                MaxReceiveMessageBytes = parse.GetValue(maxReceive),
                MaxSendMessageBytes = parse.GetValue(maxSend),
                KeepAlivePingDelay = parse.GetValue(pingDelay) is > 0 and var delay ? TimeSpan.FromSeconds(delay) : null,
                KeepAlivePingTimeout = TimeSpan.FromSeconds(parse.GetValue(pingTimeout)),
                RegistryPath = parse.GetValue(registry)!,
            };
            var json = parse.GetValue(logFormat) == "json";
            try
            {
                // Every key is checked before the host starts: one it could never match (empty, bad hash) is a
                // configuration error, not a host that answers every call with UNKNOWN.
                options.ApiKeys.AddRange(ApiKeyStore.ParseArguments(parse.GetValue(keys) ?? []));
                options.ApiKeyFile = parse.GetValue(keyFile)?.FullName;
                _ = ApiKeyStore.FromOptions(options);
                _ = Hosting.MemoryBudget.Resolve(options.MemoryBudget);
                CheckEnvironment();
                StreamMlServer.CheckLimits(options);
            }
            catch (Engine.StreamMlException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Usage;
            }
            try
            {
                options.PipelineSpecs.AddRange(parse.GetValue(specs) is { Length: > 0 } files ? files.Select(f => f.FullName) : SpecsFromEnvironment());
                await using var server = await StreamMlServer.StartAsync(options, ContainerLogging.Configure(json, parse.GetValue(logLevel)), ct);
                // With JSON logs standard output carries only JSON lines; the listening address is in event 2001.
                if (!json) output.WriteLine($"streamml host listening on {server.Address}" + (server.MetricsAddress is null ? "" : $", metrics on {server.MetricsAddress}/metrics")
                    + (server.HttpAddress is null ? "" : $", Open Inference Protocol HTTP on {server.HttpAddress}/v2"));
                if (!json) output.WriteLine("Ctrl+C stops it (pipelines drain first).");
                try { await Task.Delay(Timeout.Infinite, ct); }
                catch (OperationCanceledException) { }
                return ExitCodes.Ok;
            }
            catch (SpecException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.InvalidSpec;
            }
            catch (Engine.StreamMlException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.FailedPrecondition;
            }
            catch (IOException ex)
            {
                error.WriteLine($"error: cannot listen: {ex.Message}; is another host using the port? Pick another with --port");
                return ExitCodes.Unavailable;
            }
        });
        return command;
    }

    /// <summary><c>STREAMML_SPECS</c>: spec files, or folders whose *.yaml, *.yml and *.json files are taken in name order.</summary>
    private static IEnumerable<string> SpecsFromEnvironment()
    {
        foreach (var entry in (Environment.GetEnvironmentVariable("STREAMML_SPECS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Directory.Exists(entry))
            {
                yield return Path.GetFullPath(entry); // a missing file is reported by the host with its path
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(entry).Where(IsSpec).Order(StringComparer.Ordinal)) yield return Path.GetFullPath(file);
        }
        static bool IsSpec(string file) => Path.GetExtension(file) is ".yaml" or ".yml" or ".json";
    }

    private static readonly string[] s_limitVariables =
    [
        "STREAMML_MAX_STREAMS_PER_CONNECTION", "STREAMML_MAX_RECEIVE_MESSAGE_SIZE", "STREAMML_MAX_SEND_MESSAGE_SIZE",
        "STREAMML_KEEPALIVE_PING_DELAY", "STREAMML_KEEPALIVE_PING_TIMEOUT", "STREAMML_PORT", "STREAMML_METRICS_PORT",
    ];

    /// <summary>An environment variable's number as an option's default (<see cref="CheckEnvironment"/> refuses one that
    /// is set but not a number before the host starts).</summary>
    private static T FromEnvironment<T>(string variable, T fallback) where T : System.Numerics.INumber<T> =>
        T.TryParse(Environment.GetEnvironmentVariable(variable), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static void CheckEnvironment()
    {
        if (Environment.GetEnvironmentVariable("STREAMML_LOG_FORMAT") is { Length: > 0 } format && format is not ("simple" or "json"))
            throw new Engine.StreamMlException($"STREAMML_LOG_FORMAT is {SafeText.Quote(format)}: use simple or json");
        if (Environment.GetEnvironmentVariable("STREAMML_LOG_LEVEL") is { Length: > 0 } level && !Enum.TryParse<LogLevel>(level, ignoreCase: true, out _))
            throw new Engine.StreamMlException($"STREAMML_LOG_LEVEL is {SafeText.Quote(level)}: use Trace, Debug, Information, Warning, Error, Critical or None");
        foreach (var variable in s_limitVariables)
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
                && !double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                throw new Engine.StreamMlException($"{variable} is {SafeText.Quote(text)}: not a number");
    }
}
