using System.Globalization;
using System.Text;
using StreamMl.Operators.Reporting.Internal;
using static StreamMl.Operators.Reporting.Internal.Svg;

namespace StreamMl.Operators.Reporting;

/// <summary>Renders a <see cref="MonitoringReport"/> as one self-contained HTML page: inline CSS and inline SVG charts,
/// no script and nothing fetched, so it opens from a file, an e-mail or an air-gapped machine. The report's JSON is
/// embedded as <c>&lt;script type="application/json" id="report-data"&gt;</c> for tools that want the numbers.</summary>
public static class ReportHtml
{
    private static readonly Dictionary<string, string> s_statisticNames = new()
    {
        ["psi"] = "PSI",
        ["ks"] = "Kolmogorov–Smirnov",
        ["js"] = "Jensen–Shannon (bits)",
        ["wasserstein"] = "Wasserstein / ref. std",
        ["chi2_p"] = "χ² p-value",
        ["missing_increase"] = "missing-rate increase",
    };

    /// <summary>The page.</summary>
    public static string Render(MonitoringReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder(64 * 1024);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append(CultureInfo.InvariantCulture, $"<title>Monitoring report: {Esc(report.Pipeline)}</title><style>{Css}</style></head><body>");
        html.Append(CultureInfo.InvariantCulture, $"<header><h1>Monitoring report: <span data-figure=\"pipeline\">{Esc(report.Pipeline)}</span></h1>")
            .Append(CultureInfo.InvariantCulture, $"<p>Generated {Time(report.GeneratedAt)} UTC · status {Badge(report.Status, "status")}")
            .Append(report.CurrentScope.Length > 0 ? $" · current data: {Esc(report.CurrentScope)}" : "").Append("</p>");
        html.Append("<nav><a href=\"#rows\">Rows</a><a href=\"#drift\">Data drift</a>");
        if (report.Score is not null || report.Metrics.Count > 0) html.Append("<a href=\"#model\">Model</a>");
        html.Append("<a href=\"#alerts\">Alerts</a>");
        if (report.Tables.Count > 0) html.Append("<a href=\"#tables\">Tables</a>");
        html.Append("</nav></header><main>");
        Rows(html, report.Rows);
        Drift(html, report);
        Model(html, report);
        Alerts(html, report);
        Tables(html, report.Tables);
        html.Append("</main><footer>StreamMl monitoring report, format version ")
            .Append(report.Version.ToString(CultureInfo.InvariantCulture))
            .Append(". Times are event times in UTC.</footer>");
        // "</" cannot occur inside a script element; JSON allows "\/" for "/".
        html.Append("<script type=\"application/json\" id=\"report-data\">").Append(report.ToJson().Replace("</", "<\\/", StringComparison.Ordinal)).Append("</script>");
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void Rows(StringBuilder html, RowCounts? rows)
    {
        html.Append("<section id=\"rows\"><h2>Rows</h2>");
        if (rows is null)
        {
            html.Append("<p class=\"muted\">No row counts in this report.</p></section>");
            return;
        }
        html.Append("<div class=\"cards\">");
        Card(html, "rows-in", "rows in", rows.In);
        Card(html, "rows-dead-letters", "dead letters", rows.DeadLetters);
        Card(html, "rows-filtered", "filtered", rows.Filtered);
        Card(html, "rows-out", "rows out", rows.Out);
        Card(html, "rows-in-flight", "in flight", rows.InFlight);
        html.Append("</div>");
        html.Append(CultureInfo.InvariantCulture,
            $"<p class=\"{(rows.Reconciles ? "reconciled" : "unreconciled")}\" data-figure=\"reconciles\" data-value=\"{(rows.Reconciles ? "true" : "false")}\">" +
            $"{rows.In:N0} in = {rows.Out:N0} out + {rows.DeadLetters:N0} dead letters + {rows.Filtered:N0} filtered + {rows.InFlight:N0} in flight: " +
            $"{(rows.Reconciles ? "the counts reconcile" : "the counts do NOT reconcile")}</p></section>");
    }

    private static void Card(StringBuilder html, string id, string label, long value) =>
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"card\"><div class=\"figure\" data-figure=\"{id}\" data-value=\"{value}\">{value:N0}</div><div class=\"label\">{label}</div></div>");

    private static void Drift(StringBuilder html, MonitoringReport report)
    {
        html.Append("<section id=\"drift\"><h2>Data drift</h2>");
        if (report.Features.Count == 0)
        {
            html.Append("<p class=\"muted\">No feature is watched for drift (add a <code>drift</code> section).</p></section>");
            return;
        }
        var drifting = report.Features.Count(f => f.Status == "drift");
        html.Append(CultureInfo.InvariantCulture,
            $"<p><span data-figure=\"features-drifting\">{drifting}</span> of <span data-figure=\"features\">{report.Features.Count}</span> features in drift.</p>");
        html.Append("<table class=\"summary\"><thead><tr><th>feature</th><th>status</th><th>PSI</th><th>KS</th><th>JS</th><th>Wasserstein</th><th>reference rows</th><th>current rows</th></tr></thead><tbody>");
        foreach (var f in report.Features)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr data-feature=\"{Esc(f.Name)}\"><td><a href=\"#feature-{Esc(f.Name)}\">{Esc(f.Name)}</a></td><td>{Badge(f.Status)}</td>");
            foreach (var name in new[] { "psi", "ks", "js", "wasserstein" })
            {
                var s = f.Statistics.FirstOrDefault(x => x.Name == name);
                html.Append(s is null ? "<td class=\"muted\">–</td>" : $"<td class=\"{s.Status}\">{Num(s.Value, "F4")}</td>");
            }
            html.Append(CultureInfo.InvariantCulture, $"<td>{f.ReferenceCounts.Sum():N0}</td><td>{f.CurrentCounts.Sum():N0}</td></tr>");
        }
        html.Append("</tbody></table>");
        foreach (var f in report.Features) Feature(html, f, "feature");
        html.Append("</section>");
    }

    private static void Feature(StringBuilder html, FeatureSection f, string role)
    {
        html.Append(CultureInfo.InvariantCulture, $"<article class=\"feature\" id=\"{role}-{Esc(f.Name)}\" data-feature=\"{Esc(f.Name)}\" data-role=\"{role}\">");
        html.Append(CultureInfo.InvariantCulture, $"<h3>{Esc(f.Name)} {Badge(f.Status)}</h3>");
        if (f.Reason.Length > 0) html.Append(CultureInfo.InvariantCulture, $"<p class=\"reason\">{Esc(f.Reason)}</p>");
        html.Append("<div class=\"row\"><div>");
        if (f.ReferenceCounts.Length > 0 || f.CurrentCounts.Length > 0)
            Histogram(html, f.Name, BinLabels(f), f.ReferenceCounts, f.CurrentCounts);
        else
            html.Append("<p class=\"muted\">No histogram: the reference has no bins for this feature.</p>");
        html.Append("</div><div><table class=\"statistics\"><thead><tr><th>statistic</th><th>value</th><th>warning</th><th>drift</th><th>status</th></tr></thead><tbody>");
        foreach (var s in f.Statistics)
        {
            var op = s.LowerIsWorse ? "≤ " : "≥ ";
            html.Append(CultureInfo.InvariantCulture,
                $"<tr data-statistic=\"{s.Name}\" data-value=\"{Raw(s.Value)}\"><td>{s_statisticNames.GetValueOrDefault(s.Name, s.Name)}</td>" +
                $"<td class=\"value\">{Num(s.Value, "F4")}</td><td>{(s.Warning is { } w ? op + Num(w) : "–")}</td><td>{(s.Drift is { } d ? op + Num(d) : "–")}</td><td>{Badge(s.Status)}</td></tr>");
        }
        html.Append("</tbody></table><table class=\"moments\"><thead><tr><th></th><th>reference</th><th>current</th></tr></thead><tbody>");
        if (f.Kind == "numeric")
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>mean</td><td>{Num(f.ReferenceMean ?? double.NaN, "G5")}</td><td>{Num(f.CurrentMean ?? double.NaN, "G5")}</td></tr>");
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>std</td><td>{Num(f.ReferenceStdDev ?? double.NaN, "G5")}</td><td>{Num(f.CurrentStdDev ?? double.NaN, "G5")}</td></tr>");
        }
        html.Append(CultureInfo.InvariantCulture, $"<tr><td>rows</td><td>{f.ReferenceCounts.Sum():N0}</td><td>{f.CurrentCounts.Sum():N0}</td></tr>");
        html.Append(CultureInfo.InvariantCulture, $"<tr><td>missing</td><td>{f.ReferenceMissingRate:P2}</td><td>{f.CurrentMissingRate:P2}</td></tr>");
        html.Append("</tbody></table></div></div>");
        if (f.Windows.Count > 0)
        {
            var psi = f.Statistics.FirstOrDefault(s => s.Name == "psi");
            html.Append(CultureInfo.InvariantCulture, $"<h4>Drift over time: {f.Windows.Count} closed windows, {f.Windows.Count(w => w.Status == "drift")} in drift</h4>");
            TimeLines(html, $"{f.Name}-windows", $"PSI of {f.Name} per closed window",
                [
                    ("PSI", "psi", [.. f.Windows.Select(w => (w.End, w.Psi ?? double.NaN))]),
                    ("KS", "ks", [.. f.Windows.Select(w => (w.End, w.KolmogorovSmirnov ?? double.NaN))]),
                    ("JS", "js", [.. f.Windows.Select(w => (w.End, w.JensenShannon ?? double.NaN))]),
                ],
                psi?.Warning, psi?.Drift);
        }
        html.Append("</article>");
    }

    private static List<string> BinLabels(FeatureSection f)
    {
        var bins = Math.Max(f.ReferenceCounts.Length, f.CurrentCounts.Length);
        var labels = new List<string>(bins);
        for (var i = 0; i < bins; i++)
        {
            if (f.Kind != "numeric") labels.Add(i < f.Categories.Length ? f.Categories[i] : "other");
            else if (f.Edges.Length == 0) labels.Add("all");
            else if (i == 0) labels.Add($"< {Num(f.Edges[0], "G4")}");
            else if (i >= f.Edges.Length) labels.Add($"≥ {Num(f.Edges[^1], "G4")}");
            else labels.Add($"{Num(f.Edges[i - 1], "G4")}–{Num(f.Edges[i], "G4")}");
        }
        return labels;
    }

    private static void Model(StringBuilder html, MonitoringReport report)
    {
        if (report.Score is null && report.Metrics.Count == 0) return;
        html.Append("<section id=\"model\"><h2>Model</h2>");
        if (report.Score is { } score)
        {
            html.Append("<p>Score distribution, reference against current.</p>");
            Feature(html, score, "score");
        }
        if (report.Metrics.Count > 0)
        {
            html.Append("<h3>Metrics from delayed labels</h3><table class=\"metrics\"><thead><tr><th>metric</th><th>variant</th><th>latest</th><th>labelled rows</th><th>points</th></tr></thead><tbody>");
            foreach (var m in report.Metrics)
            {
                var last = m.Points.Count > 0 ? m.Points[^1] : null;
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr data-metric=\"{Esc(m.Name)}\" data-variant=\"{Esc(m.Variant)}\" data-value=\"{(last is null ? "" : Raw(last.Value))}\"><td>{Esc(m.Name)}</td><td>{Esc(m.Variant.Length == 0 ? "–" : m.Variant)}</td>" +
                    $"<td>{(last is null ? "–" : Num(last.Value, "F4"))}</td><td>{(last is null ? "–" : last.Rows.ToString("N0", CultureInfo.InvariantCulture))}</td><td>{m.Points.Count}</td></tr>");
            }
            html.Append("</tbody></table>");
            var css = new[] { "v0", "v1", "v2", "v3", "v4", "v5" };
            foreach (var group in report.Metrics.GroupBy(m => m.Name))
            {
                var series = group.Where(m => m.Points.Count > 1).Select((m, i) =>
                    (m.Variant.Length == 0 ? m.Name : m.Variant, css[i % css.Length], (IReadOnlyList<(long, double)>)[.. m.Points.Select(p => (p.Time, p.Value))])).ToList();
                if (series.Count == 0) continue;
                html.Append(CultureInfo.InvariantCulture, $"<h4>{Esc(group.Key)} over time</h4>");
                TimeLines(html, $"metric-{group.Key}", $"{group.Key} per variant over time", series, null, null);
            }
        }
        html.Append("</section>");
    }

    private static void Alerts(StringBuilder html, MonitoringReport report)
    {
        html.Append("<section id=\"alerts\"><h2>Alerts and detections</h2>");
        html.Append(CultureInfo.InvariantCulture, $"<p><span class=\"figure-inline\" data-figure=\"alerts-raised\" data-value=\"{report.AlertsRaised}\">{report.AlertsRaised:N0}</span> alerts raised, ")
            .Append(CultureInfo.InvariantCulture, $"<span data-figure=\"alerts-suppressed\" data-value=\"{report.AlertsSuppressed}\">{report.AlertsSuppressed:N0}</span> detections suppressed by the cooldown");
        if (report.AlertsDropped > 0)
            html.Append(CultureInfo.InvariantCulture, $", <span data-figure=\"alerts-dropped\">{report.AlertsDropped:N0}</span> alert rows lost by slow sinks");
        html.Append(".</p>");
        if (report.Alerts.Count > 0) Timeline(html, report.Alerts);
        if (report.Detectors.Count > 0)
        {
            html.Append("<h3>Detectors</h3><table class=\"detectors\"><thead><tr><th>monitor</th><th>columns</th><th>detector</th><th>keys</th><th>values</th><th>detections</th><th>alerts</th><th>suppressed</th><th>latest detection</th></tr></thead><tbody>");
            foreach (var d in report.Detectors)
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr data-monitor=\"{Esc(d.Name)}\"><td>{Esc(d.Name)}</td><td>{Esc(d.Columns)}</td><td>{Esc(d.Detector)}</td><td>{d.Keys:N0}</td><td>{d.Values:N0}</td>" +
                    $"<td data-figure=\"detections\">{d.Detections:N0}</td><td>{d.Alerts:N0}</td><td>{d.Suppressed:N0}</td><td>{(d.LastDetection is { } t ? Time(t) : "–")}</td></tr>");
            html.Append("</tbody></table>");
        }
        if (report.Alerts.Count > 0)
        {
            const int shown = 1000;
            html.Append(CultureInfo.InvariantCulture, $"<h3>Alert list{(report.Alerts.Count > shown ? $" (latest {shown} of {report.Alerts.Count:N0})" : "")}</h3>");
            html.Append("<table class=\"alerts\"><thead><tr><th>event time (UTC)</th><th>severity</th><th>kind</th><th>key</th><th>column</th><th>detector</th><th>statistic</th><th>threshold</th><th>message</th></tr></thead><tbody>");
            foreach (var a in report.Alerts.Skip(Math.Max(0, report.Alerts.Count - shown)))
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr class=\"alert\" data-time=\"{a.EventTime}\"><td>{Time(a.EventTime)}</td><td>{Badge(a.Severity)}</td><td>{Esc(a.Kind)}</td><td>{Esc(a.Key)}</td>" +
                    $"<td>{Esc(a.Column)}</td><td>{Esc(a.Detector)}</td><td>{(a.Statistic is { } s ? Num(s, "G4") : "–")}</td><td>{(a.Threshold is { } th ? Num(th, "G4") : "–")}</td><td>{Esc(a.Message)}</td></tr>");
            html.Append("</tbody></table>");
        }
        else
        {
            html.Append("<p class=\"muted\">No alerts.</p>");
        }
        html.Append("</section>");
    }

    private static void Tables(StringBuilder html, IReadOnlyList<ReportTable> tables)
    {
        if (tables.Count == 0) return;
        html.Append("<section id=\"tables\">");
        foreach (var table in tables)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h2>{Esc(table.Title)}</h2>");
            if (table.Description.Length > 0) html.Append(CultureInfo.InvariantCulture, $"<p>{Esc(table.Description)}</p>");
            html.Append(CultureInfo.InvariantCulture, $"<table class=\"generic\" data-table=\"{Esc(table.Title)}\"><thead><tr>");
            foreach (var c in table.Columns) html.Append(CultureInfo.InvariantCulture, $"<th>{Esc(c)}</th>");
            html.Append("</tr></thead><tbody>");
            foreach (var row in table.Rows)
            {
                html.Append("<tr>");
                foreach (var cell in row) html.Append(CultureInfo.InvariantCulture, $"<td>{Esc(cell)}</td>");
                html.Append("</tr>");
            }
            html.Append("</tbody></table>");
        }
        html.Append("</section>");
    }

    private static string Badge(string status, string? figure = null) =>
        $"<span class=\"badge {Esc(status)}\"{(figure is null ? "" : $" data-figure=\"{figure}\"")}>{Esc(status)}</span>";

    private const string Css = """
        :root{--ok:#2e7d32;--warning:#ef6c00;--drift:#c62828;--ref:#5c7cfa;--cur:#f08c00;--muted:#6b7280;--line:#e5e7eb}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f8fafc}
        header{background:#1f2937;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#d1d5db}
        nav{margin-top:8px}nav a{color:#93c5fd;margin-right:16px;text-decoration:none}
        main{padding:8px 24px 24px;max-width:1560px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:16px 0}
        h2{font-size:18px;margin:4px 0 8px}h3{font-size:16px;margin:16px 0 6px}h4{font-size:14px;margin:10px 0 4px;color:#374151}
        table{border-collapse:collapse;margin:6px 0}th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
        th{background:#f3f4f6;font-weight:600}td.ok{color:var(--ok)}td.warning{color:var(--warning)}td.drift{color:var(--drift);font-weight:600}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e5e7eb;color:#374151}
        .badge.ok{background:#e8f5e9;color:var(--ok)}.badge.warning{background:#fff3e0;color:var(--warning)}.badge.drift,.badge.critical{background:#ffebee;color:var(--drift)}
        .cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid var(--line);border-radius:8px;padding:8px 16px;min-width:120px}
        .card .figure{font-size:22px;font-weight:700}.card .label{color:var(--muted)}
        .reconciled{color:var(--ok)}.unreconciled{color:var(--drift);font-weight:700}.muted{color:var(--muted)}.reason{color:#374151;margin:0}
        .row{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}article.feature{border-top:1px solid var(--line);padding-top:6px}
        svg.chart{background:#fff;display:block}svg .axis{stroke:#9ca3af}svg .grid{stroke:#f1f5f9}svg .lane{stroke:#e5e7eb}
        svg text{font-size:10px;fill:#4b5563}svg .legend-label{font-size:11px}
        svg .reference{fill:var(--ref)}svg .current{fill:var(--cur)}
        svg polyline.series{fill:none;stroke-width:1.6}svg .psi{stroke:#7048e8;fill:#7048e8}svg .ks{stroke:#1098ad;fill:#1098ad}svg .js{stroke:#74b816;fill:#74b816}
        svg .v0{stroke:#7048e8;fill:#7048e8}svg .v1{stroke:#f08c00;fill:#f08c00}svg .v2{stroke:#1098ad;fill:#1098ad}svg .v3{stroke:#e64980;fill:#e64980}svg .v4{stroke:#74b816;fill:#74b816}svg .v5{stroke:#495057;fill:#495057}
        svg polyline.v0,svg polyline.v1,svg polyline.v2,svg polyline.v3,svg polyline.v4,svg polyline.v5{fill:none}
        svg .threshold{stroke-dasharray:5 4;stroke-width:1.2}svg .threshold.warning{stroke:var(--warning)}svg .threshold.drift{stroke:var(--drift)}
        svg .alert-mark{fill:var(--warning);fill-opacity:.8}svg .alert-mark.critical{fill:var(--drift)}svg .alert-mark.info{fill:#1c7ed6}
        table.alerts{width:100%}table.alerts td{overflow-wrap:anywhere}table.alerts td:first-child{white-space:nowrap}table.alerts td:last-child{max-width:560px}footer{color:var(--muted);padding:0 24px 24px}
        """;
}
