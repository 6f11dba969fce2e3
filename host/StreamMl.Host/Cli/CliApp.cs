using System.CommandLine;

namespace StreamMl.Host.Cli;

/// <summary>The <c>streamml</c> command tree. Other areas add their commands here (one line each).</summary>
internal static class CliApp
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
            BenchCommand.Create(),
            Files.IngestCommand.Create(),
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
            foreach (var e in parse.Errors) configuration.Error.WriteLine($"error: {e.Message}");
            configuration.Error.WriteLine("Run 'streamml --help' for the commands and options.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}
