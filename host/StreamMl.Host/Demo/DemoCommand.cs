using System.CommandLine;

namespace StreamMl.Host.Demo;

/// <summary><c>streamml demo</c>: the end-to-end demo on generated sensor data.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder for the demo's outputs", DefaultValueFactory = _ => new DirectoryInfo("demo-output") };
        var rows = new Option<int>("--rows") { Description = "Sensor rows to stream", DefaultValueFactory = _ => 200_000 };
        var command = new Command("demo", "Run the end-to-end demo: sensor data, model, gRPC, validation, features, scoring, drift, Parquet") { output, rows };
        command.Subcommands.Add(RecommendDemo.Create());
        command.SetAction((parse, ct) => DemoRunner.RunAsync(parse.GetValue(output)!, parse.GetValue(rows), parse.InvocationConfiguration.Output, ct));
        return command;
    }
}
