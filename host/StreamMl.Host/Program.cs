using StreamMl.Host.Cli;

namespace StreamMl.Host;

internal static class Program
{
    private static Task<int> Main(string[] args) => CliApp.RunAsync(args);
}
