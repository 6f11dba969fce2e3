using StreamMl.Host.Cli;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Tests.Reporting;

/// <summary><c>streamml report</c>: renders a saved report again, and says what is wrong with its arguments.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-report-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task From_a_saved_report_writes_the_same_page()
    {
        var report = new MonitoringReportBuilder("saved")
            .WithRows(new RowCounts { In = 5, Out = 5 })
            .AddAlerts([new Operators.Monitoring.Alert { Kind = "anomaly", Key = "k", EventTime = 1_700_000_000_000_000, Column = "v", Detector = "cusum", Message = "m" }])
            .Build(DateTimeOffset.UnixEpoch.AddDays(1));
        var json = Path.Combine(_dir, "saved.json");
        File.WriteAllText(json, report.ToJson());
        var html = Path.Combine(_dir, "page", "saved.html");
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(ExitCodes.Ok, await CliApp.RunAsync(["report", "--from", json, "-o", html], output, error));
        Assert.Equal(ReportHtml.Render(report), File.ReadAllText(html));
        Assert.Contains("saved: unknown, 0 of 0 features in drift, 1 alerts, rows in 5 / dead letters 0 / out 5", output.ToString());
    }

    [Fact]
    public async Task Wrong_arguments_get_a_plain_message()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await CliApp.RunAsync(["report"], new StringWriter(), error));
        Assert.Contains("pass either --pipeline NAME (ask a running host) or --from REPORT.json", error.ToString());

        error = new StringWriter();
        Assert.Equal(ExitCodes.NotFound, await CliApp.RunAsync(["report", "--from", Path.Combine(_dir, "none.json")], new StringWriter(), error));
        Assert.Contains("none.json' does not exist", error.ToString());

        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{\"pipeline\": 1}");
        error = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await CliApp.RunAsync(["report", "--from", bad], new StringWriter(), error));
        Assert.Contains("bad.json: monitoring report JSON is malformed at $.pipeline", error.ToString());

        error = new StringWriter();
        Assert.Equal(ExitCodes.Unavailable, await CliApp.RunAsync(["report", "--pipeline", "p", "--address", "http://127.0.0.1:1"], new StringWriter(), error));
        Assert.Contains("no StreamMl host answers at http://127.0.0.1:1", error.ToString());
    }
}
