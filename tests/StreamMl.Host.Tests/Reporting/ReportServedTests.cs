using System.Net;
using System.Text.Json;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Tests.Reporting;

/// <summary>A running host serves the monitoring report: Query.GetMonitoringReport returns the JSON and the HTML of one
/// report, GET /report/{pipeline} on the HTTP port serves the page (read key required, 404 naming the pipelines), and
/// the served page renders in chromium with the alert count the RPC gives.</summary>
[Collection(HostCollection.Name)]
public sealed class ReportServedTests(HostFixture host) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-report-served-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task Host_serves_the_report_over_gRPC_and_HTTP()
    {
        var chromium = ReportBrowser.RequireChromium();
        var csv = SharedData.File("nab", "nyc_taxi.csv");
        const string name = "report-served";
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = ReportBrowserTests.NabSpec(name, csv, Path.Combine(_dir, "alerts")), Start = true, Replace = true,
        });
        await Eventually.TrueAsync(() => host.Pipelines.Get(name).Current?.Completion.IsCompleted == true, "the pipeline reads the whole file");

        var answer = await host.Query().GetMonitoringReportAsync(new MonitoringReportRequest { Pipeline = name });
        var report = MonitoringReport.FromJson(answer.Json);
        var rows = File.ReadLines(csv).Skip(1).Count(l => l.Length > 0);
        Assert.Equal(rows, report.Rows!.In);
        Assert.True(report.Rows.Reconciles);
        Assert.Equal(answer.Alerts, report.AlertsRaised);
        Assert.Equal(host.Pipelines.Get(name).Runtime.Alerts.Published, answer.Alerts);
        Assert.Equal(report.Status, answer.Status);
        Assert.Contains("<svg class=\"chart histogram\"", answer.Html);

        using var http = new HttpClient { BaseAddress = new Uri(host.Server.HttpAddress!) };
        using (var anonymous = await http.GetAsync($"/report/{name}"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/report/no-such-pipeline");
        request.Headers.Add("x-api-key", HostFixture.ReadKey);
        using (var missing = await http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Contains($"there is no pipeline 'no-such-pipeline'; it runs: ", await missing.Content.ReadAsStringAsync());
        }
        using var jsonRequest = new HttpRequestMessage(HttpMethod.Get, $"/report/{name}?format=json");
        jsonRequest.Headers.Add("x-api-key", HostFixture.ReadKey);
        using var json = await http.SendAsync(jsonRequest);
        Assert.Equal("application/json", json.Content.Headers.ContentType!.MediaType);
        Assert.Equal(report.AlertsRaised, MonitoringReport.FromJson(await json.Content.ReadAsStringAsync()).AlertsRaised);

        // The page as served, in a browser (the key in the URL would leak into logs: serve it from a file of the body).
        using var pageRequest = new HttpRequestMessage(HttpMethod.Get, $"/report/{name}");
        pageRequest.Headers.Add("authorization", $"Bearer {HostFixture.ReadKey}");
        using var served = await http.SendAsync(pageRequest);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("text/html", served.Content.Headers.ContentType!.MediaType);
        var file = Path.Combine(_dir, "served.html");
        await File.WriteAllTextAsync(file, await served.Content.ReadAsStringAsync());
        var page = await ReportBrowser.OpenAsync(file, chromium);
        Assert.Empty(page.GetProperty("problems").EnumerateArray());
        Assert.Equal(name, page.GetProperty("figures").GetProperty("pipeline").GetProperty("text").GetString());
        Assert.Equal(answer.Alerts, long.Parse(page.GetProperty("figures").GetProperty("alerts-raised").GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["value"], page.GetProperty("features").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        Assert.True(page.GetProperty("charts").GetArrayLength() >= 3, "histogram, drift over time and alert timeline");
    }
}
