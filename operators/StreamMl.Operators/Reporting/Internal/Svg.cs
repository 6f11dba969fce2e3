using System.Globalization;
using System.Net;
using System.Text;

namespace StreamMl.Operators.Reporting.Internal;

/// <summary>Small inline-SVG charts (no script, no external resource): grouped histograms, line charts over event time
/// with threshold lines, and an event timeline. Every mark carries its value in a data attribute and a tooltip.</summary>
internal static class Svg
{
    public const int Width = 720;
    private const int Left = 56, Right = 16, Top = 14;

    public static string Num(double value, string format = "G6") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    public static string Raw(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Esc(string text) => WebUtility.HtmlEncode(text);

    public static string Time(long micros)
    {
        var t = DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
        return t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Reference and current shares per bin, side by side.</summary>
    public static void Histogram(StringBuilder html, string id, IReadOnlyList<string> labels, long[] reference, long[] current)
    {
        const int height = 240, bottom = 52;
        var plotW = Width - Left - Right;
        var plotH = height - Top - bottom;
        double refTotal = reference.Sum(), curTotal = current.Sum();
        var bins = Math.Max(reference.Length, current.Length);
        double Share(long[] counts, int i, double total) => i < counts.Length && total > 0 ? counts[i] / total : 0;
        var max = 0.0;
        for (var i = 0; i < bins; i++) max = Math.Max(max, Math.Max(Share(reference, i, refTotal), Share(current, i, curTotal)));
        var top = NiceCeiling(max);
        Open(html, id, "histogram", height, $"reference and current share of rows per bin of {id}");
        YAxis(html, 0, top, plotH, height - bottom, v => (v * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%");
        var slot = (double)plotW / Math.Max(bins, 1);
        var bar = slot * 0.38;
        var labelEvery = Math.Max(1, (int)Math.Ceiling(bins / 12.0));
        for (var i = 0; i < bins; i++)
        {
            var x = Left + i * slot + slot * 0.1;
            Bar(html, "reference", x, bar, Share(reference, i, refTotal), top, plotH, height - bottom, i < reference.Length ? reference[i] : 0, labels[i]);
            Bar(html, "current", x + bar, bar, Share(current, i, curTotal), top, plotH, height - bottom, i < current.Length ? current[i] : 0, labels[i]);
            if (i % labelEvery == 0)
                html.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{x + bar:F1}\" y=\"{height - bottom + 14}\" text-anchor=\"end\" transform=\"rotate(-30 {x + bar:F1} {height - bottom + 14})\">{Esc(labels[i])}</text>");
        }
        Legend(html, [("reference", "reference"), ("current", "current")]);
        html.Append("</svg>");
    }

    private static void Bar(StringBuilder html, string cls, double x, double w, double share, double top, double plotH, double baseY, long count, string label)
    {
        var h = top > 0 ? share / top * plotH : 0;
        html.Append(CultureInfo.InvariantCulture,
            $"<rect class=\"bar {cls}\" data-count=\"{count}\" x=\"{x:F1}\" y=\"{baseY - h:F1}\" width=\"{w:F1}\" height=\"{h:F1}\"><title>{cls} {Esc(label)}: {count:N0} rows ({share * 100:F1}%)</title></rect>");
    }

    /// <summary>One line per series over event time, with optional warning and drift levels as dashed lines.</summary>
    public static void TimeLines(StringBuilder html, string id, string title, IReadOnlyList<(string Name, string Css, IReadOnlyList<(long Time, double Value)> Points)> series,
        double? warning, double? drift)
    {
        const int height = 220, bottom = 40;
        var plotW = Width - Left - Right;
        var plotH = height - Top - bottom;
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Value)).ToList();
        long t0 = all.Count == 0 ? 0 : all.Min(p => p.Time), t1 = all.Count == 0 ? 1 : all.Max(p => p.Time);
        if (t1 <= t0) t1 = t0 + 1;
        var hi = Math.Max(all.Count == 0 ? 0 : all.Max(p => p.Value), Math.Max(warning ?? 0, drift ?? 0) * 1.1);
        var lo = Math.Min(0, all.Count == 0 ? 0 : all.Min(p => p.Value));
        var top = NiceCeiling(hi);
        if (top <= lo) top = lo + 1;
        double X(long t) => Left + (double)(t - t0) / (t1 - t0) * plotW;
        double Y(double v) => Top + plotH - (v - lo) / (top - lo) * plotH;
        Open(html, id, "lines", height, title);
        YAxis(html, lo, top, plotH, height - bottom, v => Num(v, "G3"));
        TimeAxis(html, t0, t1, plotW, height - bottom);
        foreach (var (level, cls) in new[] { (warning, "warning"), (drift, "drift") })
            if (level is { } l && l <= top)
                html.Append(CultureInfo.InvariantCulture, $"<line class=\"threshold {cls}\" data-value=\"{Raw(l)}\" x1=\"{Left}\" x2=\"{Left + plotW}\" y1=\"{Y(l):F1}\" y2=\"{Y(l):F1}\"><title>{cls} {Num(l)}</title></line>");
        foreach (var (name, css, points) in series)
        {
            var finite = points.Where(p => double.IsFinite(p.Value)).ToList();
            if (finite.Count == 0) continue;
            html.Append(CultureInfo.InvariantCulture, $"<polyline class=\"series {css}\" data-series=\"{Esc(name)}\" points=\"");
            foreach (var p in finite) html.Append(CultureInfo.InvariantCulture, $"{X(p.Time):F1},{Y(p.Value):F1} ");
            html.Append("\"/>");
            foreach (var p in finite)
                html.Append(CultureInfo.InvariantCulture,
                    $"<circle class=\"point {css}\" data-value=\"{Raw(p.Value)}\" cx=\"{X(p.Time):F1}\" cy=\"{Y(p.Value):F1}\" r=\"2.5\"><title>{Esc(name)} {Time(p.Time)}: {Num(p.Value, "G4")}</title></circle>");
        }
        Legend(html, [.. series.Select(s => (s.Name, s.Css))]);
        html.Append("</svg>");
    }

    /// <summary>Alerts as marks on an event-time axis, one lane per series (kind, column, key).</summary>
    public static void Timeline(StringBuilder html, IReadOnlyList<AlertEntry> alerts)
    {
        var lanes = alerts.Select(LaneOf).Distinct().Take(12).ToList();
        var laneH = 22;
        var labelW = 220;
        var height = Top + lanes.Count * laneH + 40;
        var plotW = Width - labelW - Right;
        long t0 = alerts.Min(a => a.EventTime), t1 = alerts.Max(a => a.EventTime);
        if (t1 <= t0) { t0 -= 3_600_000_000; t1 += 3_600_000_000; }
        double X(long t) => labelW + (double)(t - t0) / (t1 - t0) * plotW;
        Open(html, "alert-timeline", "timeline", height, "alerts on the event-time axis");
        for (var i = 0; i < lanes.Count; i++)
        {
            var y = Top + i * laneH + laneH / 2.0;
            html.Append(CultureInfo.InvariantCulture, $"<line class=\"lane\" x1=\"{labelW}\" x2=\"{labelW + plotW}\" y1=\"{y:F1}\" y2=\"{y:F1}\"/>");
            html.Append(CultureInfo.InvariantCulture, $"<text class=\"lane-label\" x=\"{labelW - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Esc(Shorten(lanes[i], 34))}<title>{Esc(lanes[i])}</title></text>");
        }
        foreach (var a in alerts)
        {
            var lane = lanes.IndexOf(LaneOf(a));
            if (lane < 0) continue;
            var y = Top + lane * laneH + laneH / 2.0;
            html.Append(CultureInfo.InvariantCulture,
                $"<circle class=\"alert-mark {Esc(a.Severity)}\" data-time=\"{a.EventTime}\" cx=\"{X(a.EventTime):F1}\" cy=\"{y:F1}\" r=\"5\"><title>{Time(a.EventTime)} {Esc(a.Severity)} {Esc(a.Message)}</title></circle>");
        }
        var axisY = Top + lanes.Count * laneH;
        html.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{labelW}\" x2=\"{labelW + plotW}\" y1=\"{axisY}\" y2=\"{axisY}\"/>");
        foreach (var (t, label) in TimeTicks(t0, t1, 5))
            html.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{X(t):F1}\" y=\"{axisY + 16}\" text-anchor=\"middle\">{label}</text>");
        html.Append("</svg>");
    }

    private static string LaneOf(AlertEntry a) => $"{a.Kind} {a.Column}{(a.Key.Length == 0 || a.Key == a.Column ? "" : " · " + Path.GetFileName(a.Key))}";

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static void Open(StringBuilder html, string id, string cls, int height, string label) =>
        html.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"chart {cls}\" data-chart=\"{Esc(id)}\" role=\"img\" aria-label=\"{Esc(label)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\">");

    private static void YAxis(StringBuilder html, double lo, double top, double plotH, double baseY, Func<double, string> label)
    {
        html.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{baseY}\"/>");
        html.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{baseY}\" y2=\"{baseY}\"/>");
        for (var i = 0; i <= 4; i++)
        {
            var v = lo + (top - lo) * i / 4;
            var y = baseY - plotH * i / 4;
            if (i > 0) html.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y:F1}\" y2=\"{y:F1}\"/>");
            html.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{label(v)}</text>");
        }
    }

    private static void TimeAxis(StringBuilder html, long t0, long t1, double plotW, double baseY)
    {
        foreach (var (t, label) in TimeTicks(t0, t1, 5))
        {
            var x = Left + (double)(t - t0) / (t1 - t0) * plotW;
            html.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{x:F1}\" y=\"{baseY + 16}\" text-anchor=\"middle\">{label}</text>");
        }
    }

    private static IEnumerable<(long Time, string Label)> TimeTicks(long t0, long t1, int count)
    {
        var span = TimeSpan.FromTicks((t1 - t0) * 10);
        var format = span >= TimeSpan.FromDays(3) ? "yyyy-MM-dd" : span >= TimeSpan.FromHours(6) ? "MM-dd HH:mm" : "HH:mm:ss";
        for (var i = 0; i <= count; i++)
        {
            var t = t0 + (t1 - t0) * i / count;
            yield return (t, DateTimeOffset.UnixEpoch.AddTicks(t * 10).ToString(format, CultureInfo.InvariantCulture));
        }
    }

    private static void Legend(StringBuilder html, IReadOnlyList<(string Name, string Css)> entries)
    {
        var x = Left + 8.0;
        foreach (var (name, css) in entries)
        {
            html.Append(CultureInfo.InvariantCulture, $"<rect class=\"legend {css}\" x=\"{x:F0}\" y=\"{Top}\" width=\"10\" height=\"10\"/>");
            html.Append(CultureInfo.InvariantCulture, $"<text class=\"legend-label\" x=\"{x + 14:F0}\" y=\"{Top + 9}\">{Esc(name)}</text>");
            x += 24 + name.Length * 6.5;
        }
    }

    /// <summary>The smallest of 1, 2, 2.5, 5 times a power of ten at or above <paramref name="value"/>.</summary>
    internal static double NiceCeiling(double value)
    {
        if (!(value > 0) || !double.IsFinite(value)) return 1;
        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
            if (step * power >= value * (1 - 1e-12)) return step * power;
        return 10 * power;
    }
}
