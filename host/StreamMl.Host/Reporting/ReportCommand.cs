using System.CommandLine;
using Grpc.Core;
using StreamMl.Engine;
using StreamMl.Host.Cli;
using StreamMl.Host.Protos;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Reporting;

/// <summary><c>streamml report --pipeline NAME</c>: a running host's monitoring report as an HTML file (and JSON with
/// <c>--json</c>); <c>streamml report --from report.json</c> renders a saved report again. A finished
/// <c>streamml run SPEC --report FILE</c> writes the same files at the end of the run.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var pipeline = new Option<string?>("--pipeline") { Description = "Pipeline of the running host to report on" };
        var from = new Option<FileInfo?>("--from") { Description = "Render a saved report (the JSON of --json or of run --report) instead of asking a host" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "HTML file to write (default: report-PIPELINE.html)" };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the report's JSON here" };
        var address = DriftCommand.AddressOption();
        var apiKey = DriftCommand.ApiKeyOption();
        var command = new Command("report", "Write a pipeline's monitoring report (drift per feature, alerts, detectors, rows) as a self-contained HTML page")
        {
            pipeline, from, output, json, address, apiKey,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var name = parse.GetValue(pipeline);
            var saved = parse.GetValue(from);
            if ((name is null) == (saved is null))
            {
                error.WriteLine("error: pass either --pipeline NAME (ask a running host) or --from REPORT.json (render a saved report)");
                return ExitCodes.Usage;
            }
            MonitoringReport report;
            if (saved is not null)
            {
                if (!saved.Exists)
                {
                    error.WriteLine($"error: report file '{saved.FullName}' does not exist");
                    return ExitCodes.NotFound;
                }
                try
                {
                    report = MonitoringReport.FromJson(await File.ReadAllTextAsync(saved.FullName, ct));
                }
                catch (StreamMlException ex)
                {
                    error.WriteLine($"error: {saved.FullName}: {ex.Message}");
                    return ExitCodes.Usage;
                }
            }
            else
            {
                var addr = parse.GetValue(address)!;
                try
                {
                    using var channel = HostClient.Open(addr, parse.GetValue(apiKey));
                    var answer = await new Query.QueryClient(channel).GetMonitoringReportAsync(new MonitoringReportRequest { Pipeline = name! }, cancellationToken: ct);
                    report = MonitoringReport.FromJson(answer.Json);
                }
                catch (RpcException ex)
                {
                    return HostClient.Report(ex, addr, error);
                }
            }
            var html = parse.GetValue(output) ?? new FileInfo($"report-{report.Pipeline}.html");
            Write(report, html, parse.GetValue(json), parse.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Writes the page (and the JSON when <paramref name="json"/> is set) and says where, with the headline figures.</summary>
    public static void Write(MonitoringReport report, FileInfo html, FileInfo? json, TextWriter output)
    {
        html.Directory?.Create();
        File.WriteAllText(html.FullName, ReportHtml.Render(report));
        if (json is not null)
        {
            json.Directory?.Create();
            File.WriteAllText(json.FullName, report.ToJson());
        }
        var drifting = report.Features.Count(f => f.Status == "drift");
        output.WriteLine($"report: {html.FullName}{(json is null ? "" : $" and {json.FullName}")} — {report.Pipeline}: {report.Status}, " +
                         $"{drifting} of {report.Features.Count} features in drift, {report.AlertsRaised:N0} alerts" +
                         (report.Rows is { } rows ? $", rows in {rows.In:N0} / dead letters {rows.DeadLetters:N0} / out {rows.Out:N0}{(rows.Reconciles ? "" : " (do NOT reconcile)")}" : ""));
    }
}
