using BenchmarkDotNet.Running;
using StreamMl.Benchmarks.Harness;

namespace StreamMl.Benchmarks;

internal static class Program
{
    /// <summary><c>harness ...</c> runs the end-to-end scenario harness; anything else goes to BenchmarkDotNet
    /// (<c>--filter '*Ring*' --job short</c>).</summary>
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "harness") return await HarnessProgram.RunAsync(args[1..], Console.Out);
        if (args.Length > 0 && args[0] == "grpc-client") return await Harness.Scenarios.S7GrpcModel.ClientAsync(args[1..], Console.In, Console.Out);
        if (args.Length > 0 && args[0] == "csv-source-cpu") return Files.CsvSourceCpuProbe.Run(args[1..], Console.Out);
        if (args.Length > 0 && args[0] == "drift-int-cpu") return Drift.DriftIntegerCpuProbe.Run(Console.Out);
        if (args.Length > 0 && args[0] == "tree-cpu") return Scoring.TreeEvaluatorCpuProbe.Run(args[1..], Console.Out);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new Config());
        return 0;
    }
}
