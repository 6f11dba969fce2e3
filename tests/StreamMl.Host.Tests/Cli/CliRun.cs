using StreamMl.Host.Cli;

namespace StreamMl.Host.Tests.Cli;

/// <summary>Runs the streamml command line in this process and captures what it writes.</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
