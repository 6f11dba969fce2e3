using System.CommandLine;

namespace StreamMl.Host.Cli;

/// <summary>The <c>streamml</c> command tree. Other areas add their commands here (one line each).</summary>
internal static partial class CliApp
{
    public static RootCommand Create()
    {
        var root = new RootCommand("StreamMl: stream processing for machine learning — run pipelines, serve gRPC, train and watch models")
        {
            Demo.DemoCommand.Create(),
            RunCommand.Create(),
            ServeCommand.Create(),
            ValidateCommand.Create(),
            DriftCommand.Create(),
            AnomalyCommand.Create(),
            Reporting.ReportCommand.Create(),
            BenchCommand.Create(),
            Files.IngestCommand.Create(),
            RecommendCommand.Create(),
            HealthCommand.Create(),
            RolloutCommand.Create(),
        };
        foreach (var command in Training.TrainingCommands.Create()) root.Add(command);
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var root = Create();
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            // SIGTERM / Ctrl+C cancel the command, which then drains its pipeline: sinks flush (a Kafka sink waits for
            // acknowledgements) and a Kafka source commits and leaves its group. System.CommandLine's default of 2 s
            // would kill the process in the middle of that.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        };
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) configuration.Error.WriteLine($"error: {InWords(e.Message)}");
            configuration.Error.WriteLine("Run 'streamml --help' for the commands and options.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>System.CommandLine names the type it could not parse a value as (<c>as expected type 'System.Double'</c>);
    /// the user reads the kind of value instead.</summary>
    private static string InWords(string message) => ExpectedType().Replace(message, m => ": expected " + m.Groups["type"].Value switch
    {
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Int32" or "System.Int64" or "System.Int16" or "System.UInt32" or "System.UInt64" => "a whole number",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a duration",
        _ => "a value of another kind",
    });

    [System.Text.RegularExpressions.GeneratedRegex(@" as expected type '(?:System\.Nullable`1\[)?(?<type>[A-Za-z0-9_.]+)\]?'")]
    private static partial System.Text.RegularExpressions.Regex ExpectedType();
}
