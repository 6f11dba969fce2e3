using System.Text.RegularExpressions;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;
using StreamMl.Operators.Reporting;

namespace StreamMl.Operators.Tests.Reporting;

/// <summary>The report model without the host: built from a reference profile, drift reports and alerts; judged by the
/// thresholds; the same after a JSON round trip; rendered as HTML that escapes what the data says. The browser checks
/// are in tests/StreamMl.Host.Tests/Reporting.</summary>
public sealed class MonitoringReportTests
{
    private static readonly long s_day = 86_400_000_000;

    private static (ReferenceProfile Profile, DriftReport Current, List<ClosedWindow> Windows) Drift(string feature)
    {
        var random = new Random(5);
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = 8 });
        builder.AddNumeric(feature, [.. Enumerable.Range(0, 4000).Select(_ => random.NextDouble() * 10)]);
        var profile = builder.Build();
        var windows = new List<ClosedWindow>();
        for (var w = 0; w < 4; w++)
        {
            var psi = 0.05 + 0.1 * w;
            windows.Add(new ClosedWindow(new DriftReport
            {
                Scope = "window",
                Rows = 1000,
                Status = psi >= 0.25 ? DriftStatus.Drift : psi >= 0.1 ? DriftStatus.Warning : DriftStatus.Ok,
                Features =
                [
                    new FeatureDrift
                    {
                        Name = feature, Count = 1000, Psi = psi, KolmogorovSmirnov = psi / 2, JensenShannon = psi / 4, WassersteinRelative = psi,
                        Mean = 5 + w, StdDev = 3, Counts = [.. Enumerable.Repeat(125L, 8)],
                        Status = psi >= 0.25 ? DriftStatus.Drift : psi >= 0.1 ? DriftStatus.Warning : DriftStatus.Ok,
                    },
                ],
            }, w * s_day, (w + 1) * s_day));
        }
        return (profile, windows[^1].Report, windows);
    }

    private static Alert AnAlert(long time, string message) => new()
    {
        Kind = "anomaly", Key = "dev-1", EventTime = time, Column = "x", Detector = "seasonal", Statistic = 6.5, Threshold = 6, Message = message,
    };

    [Fact]
    public void Statistics_are_judged_by_the_thresholds_they_are_shown_with()
    {
        var (profile, current, windows) = Drift("x");
        var thresholds = new DriftThresholds();
        var report = new MonitoringReportBuilder("p").AddDrift(profile, current, windows, thresholds).Build();
        var feature = Assert.Single(report.Features);
        Assert.Equal(profile.Find("x")!.BinCounts, feature.ReferenceCounts);
        Assert.Equal(profile.Find("x")!.Edges, feature.Edges);
        Assert.Equal(4, feature.Windows.Count);
        Assert.Equal([0.05, 0.15, 0.25, 0.35], feature.Windows.Select(w => Math.Round(w.Psi!.Value, 10)));
        foreach (var s in feature.Statistics)
        {
            Assert.NotNull(s.Warning);
            var expected = s.Value >= s.Drift ? "drift" : s.Value >= s.Warning ? "warning" : "ok";
            Assert.Equal(expected, s.Status);
        }
        // PSI 0.35 >= 0.25, KS 0.175 in [0.1, 0.2), JS 0.0875 in [0.05, 0.1), Wasserstein 0.35 >= 0.25: known by hand too.
        Assert.Equal(["drift", "warning", "warning", "drift"], feature.Statistics.Take(4).Select(s => s.Status));
        Assert.Equal("drift", report.Status);
    }

    [Fact]
    public void Json_round_trip_keeps_the_report_and_its_page()
    {
        var (profile, current, windows) = Drift("x");
        var report = new MonitoringReportBuilder("p")
            .WithRows(new RowCounts { In = 10, DeadLetters = 2, Filtered = 1, Out = 7 })
            .AddDrift(profile, current, windows, new DriftThresholds(), "the latest window")
            .AddAlerts([AnAlert(3 * s_day, "late"), AnAlert(s_day, "early")])
            .AddMetric("accuracy", "v2", new MetricPoint(2 * s_day, 0.91, 400))
            .AddMetric("accuracy", "v2", new MetricPoint(s_day, 0.93, 200))
            .AddTable(new ReportTable { Title = "Variants", Columns = ["variant", "ctr"], Rows = [["a", "0.1"], ["b", "0.2"]] })
            .Build(DateTimeOffset.UnixEpoch.AddDays(20));
        Assert.True(report.Rows!.Reconciles);
        Assert.Equal(["early", "late"], report.Alerts.Select(a => a.Message));
        Assert.Equal([0.93, 0.91], report.Metrics.Single().Points.Select(p => p.Value));

        var again = MonitoringReport.FromJson(report.ToJson());
        Assert.Equal(report.ToJson(), again.ToJson());
        Assert.Equal(ReportHtml.Render(report), ReportHtml.Render(again));
    }

    [Fact]
    public void Rows_that_do_not_add_up_are_shown_as_not_reconciling()
    {
        var rows = new RowCounts { In = 10, DeadLetters = 2, Out = 7 };
        Assert.False(rows.Reconciles);
        var html = ReportHtml.Render(new MonitoringReportBuilder("p").WithRows(rows).Build());
        Assert.Contains("data-figure=\"reconciles\" data-value=\"false\"", html);
        Assert.Contains("do NOT reconcile", html);
    }

    [Fact]
    public void The_page_escapes_what_the_data_says_and_fetches_nothing()
    {
        var (profile, current, windows) = Drift("<b>x</b>");
        var report = new MonitoringReportBuilder("<i>pipe</i>")
            .AddDrift(profile, current, windows, new DriftThresholds())
            .AddAlerts([AnAlert(s_day, "</script><script>alert(1)</script>")])
            .AddTable(new ReportTable { Title = "t<", Columns = ["a&b"], Rows = [["<img src=x>"]] })
            .Build();
        var html = ReportHtml.Render(report);
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<b>x</b>", html);
        Assert.DoesNotContain("<img", html);
        Assert.Single(Regex.Matches(html, "</script>"));
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        // The embedded JSON is the report.
        var embedded = Regex.Match(html, "<script type=\"application/json\" id=\"report-data\">(.*)</script>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(report.ToJson(), MonitoringReport.FromJson(embedded.Replace("<\\/", "</", StringComparison.Ordinal)).ToJson());
    }

    [Fact]
    public void Bad_report_json_says_where()
    {
        var malformed = Assert.Throws<StreamMlException>(() => MonitoringReport.FromJson("{\"pipeline\": \"p\", \"features\": 3}"));
        Assert.Contains("$.features", malformed.Message);
        var version = Assert.Throws<StreamMlException>(() => MonitoringReport.FromJson("{\"version\": 9, \"pipeline\": \"p\"}"));
        Assert.Contains("format version 9", version.Message);
        var table = Assert.Throws<ArgumentException>(() => new MonitoringReportBuilder("p").AddTable(new ReportTable { Title = "t", Columns = ["a", "b"], Rows = [["1"]] }));
        Assert.Contains("table 't': a row has 1 cells for 2 columns", table.Message);
    }
}
