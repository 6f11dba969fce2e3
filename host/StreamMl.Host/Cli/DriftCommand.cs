using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml drift report --pipeline NAME</c>: a running host's drift report as a table.</summary>
internal static class DriftCommand
{
    public static Command Create()
    {
        var pipeline = new Option<string>("--pipeline") { Description = "Pipeline name", Required = true };
        var windows = new Option<int>("--windows") { Description = "Windows to show (newest last)", DefaultValueFactory = _ => 5 };
        var address = AddressOption();
        var apiKey = ApiKeyOption();
        var report = new Command("report", "Show a pipeline's drift report from a running host") { pipeline, windows, address, apiKey };
        report.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var addr = parse.GetValue(address)!;
            try
            {
                using var channel = HostClient.Open(addr, parse.GetValue(apiKey));
                var client = new Query.QueryClient(channel);
                var result = await client.GetDriftReportAsync(new DriftReportRequest { Pipeline = parse.GetValue(pipeline)!, MaxWindows = parse.GetValue(windows) },
                    cancellationToken: ct);
                Print(result, output);
                return ExitCodes.Ok;
            }
            catch (RpcException ex)
            {
                return HostClient.Report(ex, addr, parse.InvocationConfiguration.Error);
            }
        });
        return new Command("drift", "Drift of a running pipeline") { report };
    }

    internal static Option<string> AddressOption() =>
        new("--address") { Description = "Host address", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STREAMML_ADDRESS") ?? "http://127.0.0.1:50051" };

    internal static Option<string?> ApiKeyOption() =>
        new("--api-key") { Description = "API key (default: STREAMML_API_KEY)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("STREAMML_API_KEY") };

    internal static void Print(DriftReport report, TextWriter output)
    {
        output.WriteLine($"pipeline {report.Pipeline}: {report.Status} (reference {report.ReferenceRows:N0} rows, {report.Alerts} alert(s))");
        output.WriteLine($"  {"feature",-16} {"status",-8} {"psi",8} {"mean shift",11} {"ref mean",10} {"mean",10}");
        foreach (var f in report.Features)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {f.Feature,-16} {f.Status,-8} {f.Psi,8:F3} {f.MeanShift,11:+0.00;-0.00;0.00} {f.ReferenceMean,10:G4} {f.CurrentMean,10:G4}"));
        foreach (var w in report.Windows)
            output.WriteLine($"  window {w.Index,4}: rows {w.FirstRow:N0}..{w.FirstRow + w.Rows - 1:N0} {w.Status}");
    }
}
