using StreamMl.Engine;
using StreamMl.Operators.Anomaly;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Operators.Tests.Monitoring;

/// <summary>Issue 13 item 3 in a monitor: half-space trees over several columns, one multivariate detector per key.
/// The alerts must be those of one stand-alone multivariate detector per key fed the same rows, in batches that cut
/// across keys. (How well the trees find joint outliers is the detector's own test, HalfSpaceTrees in Anomaly/.)</summary>
public sealed class MultivariateMonitorTests
{
    private static readonly Schema s_schema = new(new Field("key", ColumnType.String), new Field("x", ColumnType.Float64), new Field("y", ColumnType.Float64));

    private sealed record Row(string Key, long Time, double X, double Y);

    [Fact]
    public void Half_space_trees_over_two_columns_alerts_as_one_detector_per_key_does()
    {
        var settings = new AnomalyDetectorSettings("half-space-trees", new Dictionary<string, string>
        {
            ["dimensions"] = "2", ["window"] = "100", ["threshold"] = "0.9", ["seed"] = "3",
        });
        // x and y move together (y ≈ x) in [0, 10); the outliers put y far from x, inside both columns' ranges.
        var rng = new Random(7);
        var rows = new List<Row>();
        for (var i = 0; i < 2000; i++)
            foreach (var key in new[] { "k1", "k2" })
            {
                var x = rng.NextDouble() * 10;
                var y = x + rng.NextDouble() * 0.5;
                var time = i * 60_000_000L;
                if (i > 600 && i % 250 == 0) y = 10 - x;
                rows.Add(new Row(key, time, x, y));
            }

        var alerts = new List<Alert>();
        var stream = new AlertStream();
        stream.Raised += alerts.Add;
        var op = new MonitorOperator(new MonitorOptions { Columns = ["x", "y"], KeyColumn = "key", Detector = settings, Alerts = stream });
        op.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 512);
        for (var start = 0; start < rows.Count; start += 333)
        {
            batch.Reset();
            var chunk = rows.Skip(start).Take(333).ToList();
            for (var i = 0; i < chunk.Count; i++)
            {
                batch["key"].Values<int>()[i] = batch["key"].Dictionary!.GetOrAdd(chunk[i].Key);
                batch["x"].Values<double>()[i] = chunk[i].X;
                batch["y"].Values<double>()[i] = chunk[i].Y;
                batch.EventTimesBuffer[i] = chunk[i].Time;
            }
            batch.Length = chunk.Count;
            op.Process(batch, StageContext.Standalone("monitor"));
        }

        var expected = new List<(string, long)>();
        var detectors = new Dictionary<string, IMultivariateAnomalyDetector>();
        foreach (var row in rows)
        {
            if (!detectors.TryGetValue(row.Key, out var detector)) detectors[row.Key] = detector = AnomalyDetectors.CreateMultivariate(settings);
            if (detector.Update([row.X, row.Y], row.Time).IsAnomaly) expected.Add((row.Key, row.Time));
        }
        Assert.NotEmpty(expected);
        Assert.Equal(expected, alerts.Select(a => (a.Key, a.EventTime)));
        Assert.All(alerts, a => Assert.Equal("x+y", a.Column));
        Assert.Equal(rows.Count, op.GetReport().Values);
    }

    [Fact]
    public void A_detector_taking_more_values_than_columns_is_refused_with_the_counts()
    {
        var settings = new AnomalyDetectorSettings("half-space-trees", new Dictionary<string, string> { ["dimensions"] = "3" });
        var error = Assert.Throws<ArgumentException>(() => new MonitorOperator(new MonitorOptions { Columns = ["x", "y"], Detector = settings, Alerts = new AlertStream() }));
        Assert.Contains("detector 'half-space-trees' takes 3 values per update; list as many columns (the monitor has 2)", error.Message);
    }
}
