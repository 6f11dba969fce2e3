using System.CommandLine;
using StreamMl.Host.Demo;

namespace StreamMl.Host;

internal static class Program
{
    private static int Main(string[] args)
    {
        var rowsOption = new Option<long>("--rows") { Description = "Rows to generate.", DefaultValueFactory = _ => 2_000_000 };
        var demo = new Command("demo", "Run a generated sensor stream through the engine and print rows/s.") { rowsOption };
        demo.SetAction((parse, cancellationToken) => EngineDemo.RunAsync(parse.GetValue(rowsOption), Console.Out, cancellationToken));
        var root = new RootCommand("streamml: stream processing for machine learning") { demo };
        return root.Parse(args).Invoke();
    }
}
