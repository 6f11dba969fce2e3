using System.Globalization;
using System.Text.Json;
using StreamMl.Host.Cli;
using StreamMl.Host.Tests.Files;

namespace StreamMl.Host.Tests.Reporting;

/// <summary>Issue 13 item 5: the monitoring report of a run over NAB's machine-temperature series, opened in headless
/// chromium. What the page shows is checked against figures this test computes itself from the CSV (row counts, the
/// reference and current histograms, PSI, KS and Jensen–Shannon from the shown counts) and against the alert rows read
/// back with DuckDB; the page must render its charts at sane sizes, without console errors or any request beyond itself.</summary>
public sealed class ReportBrowserTests : IDisposable
{
    private const int ReferenceRows = 2000;
    private const int WindowRows = 2000;

    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string NabSpec(string name, string csv, string alerts = "alerts/") => $"""
        name: {name}
        source:
          kind: file
          path: [{csv}]
          columns: {"{"} timestamp: timestamp, value: float64 {"}"}
          event_time: timestamp
          source_file: true
        drift:
          features: [value]
          reference_rows: {ReferenceRows}
          window_rows: {WindowRows}
        monitors:
          - columns: [value]
            key: source_file
            detector: seasonal
        alerts:
          cooldown: 48h
          sinks: [ {"{"} kind: parquet, path: {alerts} {"}"} ]
        sinks: [ {"{"} kind: memory, keep_rows: 0 {"}"} ]
        """;

    [SkippableFact]
    public async Task Report_of_a_NAB_run_shows_the_figures_an_independent_computation_gives()
    {
        var chromium = ReportBrowser.RequireChromium();
        var csv = SharedData.File("nab", "machine_temperature_system_failure.csv");
        var spec = Path.Combine(_dir, "nab.yaml");
        File.WriteAllText(spec, NabSpec("nab-report", csv));
        var html = Path.Combine(_dir, "out", "report.html");

        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(["run", spec, "--plain", "--registry", Path.Combine(_dir, "models"), "--report", html], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit {code}: {error}\n{output}");
        Assert.True(File.Exists(Path.ChangeExtension(html, ".json")), "run --report writes the JSON beside the page");

        var page = await ReportBrowser.OpenAsync(html, chromium, Path.Combine(_dir, "out", "report.png"));

        // A self-contained page: no script, nothing fetched, nothing complained about.
        Assert.Empty(page.GetProperty("problems").EnumerateArray());
        Assert.Equal([new Uri(html).AbsoluteUri], page.GetProperty("requests").EnumerateArray().Select(r => r.GetString()!));
        Assert.Equal(0, page.GetProperty("scripts").GetInt32());
        Assert.Empty(page.GetProperty("externalResources").EnumerateArray());

        // Rows: every CSV data row in and out, none dead-lettered.
        var values = File.ReadLines(csv).Skip(1).Where(l => l.Length > 0)
            .Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var figures = page.GetProperty("figures");
        Assert.Equal(values.Length, Figure(figures, "rows-in"));
        Assert.Equal(values.Length, Figure(figures, "rows-out"));
        Assert.Equal(0, Figure(figures, "rows-dead-letters"));
        Assert.Equal("true", figures.GetProperty("reconciles").GetProperty("value").GetString());

        // Histograms: the reference is the first rows, current the last (partial) window; binned here by the edges the
        // report carries, they must be the bars the page draws.
        var feature = page.GetProperty("features").EnumerateArray().Single(f => f.GetProperty("role").GetString() == "feature");
        Assert.Equal("value", feature.GetProperty("name").GetString());
        var edges = page.GetProperty("data").GetProperty("features")[0].GetProperty("edges").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var shownReference = Longs(feature.GetProperty("reference"));
        var shownCurrent = Longs(feature.GetProperty("current"));
        var afterReference = values.Length - ReferenceRows;
        var lastWindow = afterReference % WindowRows == 0 ? WindowRows : afterReference % WindowRows;
        Assert.Equal(Bin(values[..ReferenceRows], edges), shownReference);
        Assert.Equal(Bin(values[^lastWindow..], edges), shownCurrent);

        // Statistics recomputed from the shown counts.
        var statistics = feature.GetProperty("statistics");
        AssertShown(Psi(shownReference, shownCurrent), statistics, "psi");
        AssertShown(Ks(shownReference, shownCurrent), statistics, "ks");
        AssertShown(JensenShannonBits(shownReference, shownCurrent), statistics, "js");
        Assert.Equal("≥ 0.25", statistics.GetProperty("psi").GetProperty("drift").GetString());
        var psiStatus = Psi(shownReference, shownCurrent) >= 0.25 ? "drift" : Psi(shownReference, shownCurrent) >= 0.1 ? "warning" : "ok";
        Assert.Equal(psiStatus, statistics.GetProperty("psi").GetProperty("status").GetString());

        // Drift over time: one point per closed window.
        Assert.Equal((afterReference + WindowRows - 1) / WindowRows, feature.GetProperty("windowPoints").GetInt32());

        // Alerts: as many as the alert sink wrote, at the same event times.
        var glob = Path.Combine(_dir, "alerts", "**", "*.parquet").Replace("'", "''");
        var written = DuckDb.Query($"SELECT epoch_us(event_time) FROM read_parquet('{glob}') ORDER BY 1")
            .Select(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(written);
        Assert.Equal(written.Count, Figure(figures, "alerts-raised"));
        Assert.Equal(written.Count, page.GetProperty("alertMarks").GetInt32());
        Assert.Equal(written, page.GetProperty("alertRows").EnumerateArray().Select(r => r.GetProperty("time").GetInt64()).Order().ToList());

        // Charts rendered at their size, with marks, and the bars' heights follow the shares.
        var charts = page.GetProperty("charts").EnumerateArray().ToList();
        Assert.Contains(charts, c => c.GetProperty("kind").GetString() == "histogram");
        Assert.Contains(charts, c => c.GetProperty("kind").GetString() == "lines");
        Assert.Contains(charts, c => c.GetProperty("kind").GetString() == "timeline");
        foreach (var chart in charts)
        {
            Assert.InRange(chart.GetProperty("width").GetDouble(), 300, 2000);
            Assert.InRange(chart.GetProperty("height").GetDouble(), 60, 2000);
            Assert.True(chart.GetProperty("marks").GetInt32() > 0, $"chart {chart.GetProperty("chart")} has no marks");
        }
        var heights = feature.GetProperty("barHeights").EnumerateArray().Select(h => h.GetDouble()).ToArray();
        var tallest = Array.IndexOf(heights, heights.Max());
        var shares = shownReference.Select(c => (double)c / shownReference.Sum()).Zip(shownCurrent.Select(c => (double)c / shownCurrent.Sum()))
            .SelectMany(p => new[] { p.First, p.Second }).ToArray();
        Assert.Equal(Array.IndexOf(shares, shares.Max()), tallest);
        Assert.InRange(heights.Max(), 50, 240);
    }

    private static long Figure(JsonElement figures, string name) =>
        long.Parse(figures.GetProperty(name).GetProperty("value").GetString()!, CultureInfo.InvariantCulture);

    private static long[] Longs(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt64())];

    /// <summary>Bin 0 is below the first edge, bin k is [e(k-1), e(k)), the last at or above the last edge.</summary>
    private static long[] Bin(double[] values, double[] edges)
    {
        var counts = new long[edges.Length + 1];
        foreach (var v in values)
        {
            var bin = 0;
            while (bin < edges.Length && v >= edges[bin]) bin++;
            counts[bin]++;
        }
        return counts;
    }

    private static double Psi(long[] reference, long[] current, double floor = 1e-4)
    {
        double r = reference.Sum(), c = current.Sum(), psi = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var p = Math.Max(reference[i] / r, floor);
            var q = Math.Max(current[i] / c, floor);
            psi += (q - p) * Math.Log(q / p);
        }
        return psi;
    }

    private static double Ks(long[] reference, long[] current)
    {
        double r = reference.Sum(), c = current.Sum(), below = 0, belowCurrent = 0, ks = 0;
        for (var i = 0; i < reference.Length - 1; i++)
        {
            below += reference[i];
            belowCurrent += current[i];
            ks = Math.Max(ks, Math.Abs(below / r - belowCurrent / c));
        }
        return ks;
    }

    private static double JensenShannonBits(long[] reference, long[] current)
    {
        double r = reference.Sum(), c = current.Sum(), js = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            double p = reference[i] / r, q = current[i] / c, m = (p + q) / 2;
            if (p > 0) js += 0.5 * p * Math.Log2(p / m);
            if (q > 0) js += 0.5 * q * Math.Log2(q / m);
        }
        return js;
    }

    /// <summary>The page shows statistics with four decimals.</summary>
    private static void AssertShown(double expected, JsonElement statistics, string name)
    {
        var shown = double.Parse(statistics.GetProperty(name).GetProperty("shown").GetString()!, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(shown - expected) <= 0.00005 + 1e-12, $"{name}: the page shows {shown}, recomputed {expected:F6}");
    }
}
