using ScottPlot;

namespace StreamMl.Benchmarks.Harness;

/// <summary>PNG charts of harness results (ScottPlot).</summary>
public static class Charts
{
    /// <summary>One bar per peer and scenario: how many times faster StreamMl is (log scale would hide the small wins).</summary>
    public static void SpeedUps(IReadOnlyList<ScenarioResult> results, string path)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        var position = 0.0;
        foreach (var result in results.Where(r => r.StreamMl is not null))
        {
            foreach (var peer in result.Medians.Where(m => !m.IsStreamMl && !m.LatencyOnly))
            {
                bars.Add(new Bar { Position = position, Value = result.SpeedupOver(peer) });
                ticks.Add(new Tick(position, $"{result.Id}\n{peer.Variant}"));
                position++;
            }
            position += 0.5;
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.Horizontal = true;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(t => new Tick(t.Position, t.Label.Replace('\n', ' ')))]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.InvertY();
        plot.Add.VerticalLine(1, 1, Colors.Gray, LinePattern.Dashed);
        plot.Title("StreamMl speed-up over each peer (rows/s ratio, same run)");
        plot.XLabel("× faster than the peer (dashed: equal)");
        plot.Axes.Margins(left: 0);
        plot.SavePng(path, 1100, Math.Max(400, 40 * bars.Count + 120));
    }

    /// <summary>Rows/s and p99 latency against batch size.</summary>
    public static void BatchSizeKnee(IReadOnlyList<TuningPoint> points, string path)
    {
        var sweep = points.Where(p => p.Sweep == "batch size").ToList();
        if (sweep.Count == 0) return;
        var plot = new Plot();
        var xs = sweep.Select(p => Math.Log2(double.Parse(p.Setting, System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var rate = plot.Add.Scatter(xs, sweep.Select(p => p.RowsPerSecond / 1e6).ToArray());
        rate.LegendText = "million rows/s";
        var latency = plot.Add.Scatter(xs, sweep.Select(p => p.P99Micros / 1000).ToArray());
        latency.LegendText = "p99 batch latency, ms";
        latency.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            xs.Zip(sweep, (x, p) => new Tick(x, p.Setting)).ToArray());
        plot.XLabel("rows per batch");
        plot.YLabel("million rows/s");
        plot.Axes.Right.Label.Text = "p99 ms";
        plot.ShowLegend();
        plot.Title("Throughput and latency against batch size");
        plot.SavePng(path, 800, 500);
    }
}
