using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;
using StreamMl.Operators.Tests.Drift;

namespace StreamMl.Operators.Tests.Monitoring;

/// <summary>Issue 13 items 1-2: detectors per key, every detection an alert with the event time of its row, a per-key
/// cooldown, all checked against plain loops written here.</summary>
public sealed class MonitorOperatorTests
{
    private static readonly Schema s_schema = new(new Field("key", ColumnType.String), new Field("id", ColumnType.Int64), new Field("value", ColumnType.Float64));

    private sealed record Row(string Key, long Time, double Value);

    /// <summary>Fires whenever a value is above 0.5: lets the test script detections exactly.</summary>
    private sealed class AboveHalf : IMonitorDetector
    {
        public string Name => "above-half";

        public bool Update(long eventTime, double value, out MonitorDetection detection)
        {
            detection = new MonitorDetection(value, 0.5, "above one half");
            return value > 0.5;
        }
    }

    /// <summary>Page–Hinkley as published (Page 1954), for both directions, resetting after an alarm: the reference.</summary>
    private sealed class PageHinkleyReference(double delta, double lambda, int minInstances)
    {
        private long _n;
        private double _mean, _up, _upMin, _down, _downMax;

        public bool Update(double x)
        {
            _n++;
            _mean += (x - _mean) / _n;
            _up += x - _mean - delta;
            _down += x - _mean + delta;
            _upMin = Math.Min(_upMin, _up);
            _downMax = Math.Max(_downMax, _down);
            if (_n < minInstances || (_up - _upMin <= lambda && _downMax - _down <= lambda)) return false;
            _n = 0;
            _mean = _up = _upMin = _down = _downMax = 0;
            return true;
        }
    }

    private static void Fill(ColumnBatch batch, IReadOnlyList<Row> rows, bool keyAsId)
    {
        batch.Reset();
        var key = batch["key"];
        for (var i = 0; i < rows.Count; i++)
        {
            key.Values<int>()[i] = key.Dictionary!.GetOrAdd(rows[i].Key);
            batch["id"].Values<long>()[i] = long.Parse(rows[i].Key.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
            batch["value"].Values<double>()[i] = rows[i].Value;
            batch.EventTimesBuffer[i] = rows[i].Time;
        }
        batch.Length = rows.Count;
        _ = keyAsId;
    }

    private static List<Alert> Run(MonitorOperator op, IReadOnlyList<Row> rows, int seed)
    {
        var alerts = new List<Alert>();
        op.Options.Alerts.Raised += alerts.Add;
        op.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 4096);
        var rng = new Random(seed);
        for (var start = 0; start < rows.Count;)
        {
            // Batch sizes 1, 7 and up to 300, so keys get different dictionary codes from batch to batch.
            var size = Math.Min(rows.Count - start, rng.Next(3) switch { 0 => 1, 1 => 7, _ => rng.Next(1, 300) });
            Fill(batch, rows.Skip(start).Take(size).ToList(), keyAsId: false);
            op.Process(batch, StageContext.Standalone("monitor"));
            start += size;
        }
        return alerts;
    }

    [Theory]
    [InlineData("key", 0)]
    [InlineData("key", 60)]
    [InlineData("id", 60)]
    public void Alerts_per_key_and_the_cooldown_match_a_plain_reference(string keyColumn, int cooldownMinutes)
    {
        var rng = new Random(17);
        var rows = new List<Row>();
        var time = 1_000_000_000L;
        for (var i = 0; i < 20_000; i++)
        {
            time += rng.Next(0, 60_000_000); // up to a minute between rows, sometimes none
            rows.Add(new Row($"k{rng.Next(25)}", time, rng.NextDouble() < 0.08 ? 1 : 0));
        }
        var stream = new AlertStream();
        var op = new MonitorOperator(new MonitorOptions
        {
            Columns = ["value"], KeyColumn = keyColumn, CreateDetector = () => new AboveHalf(), Alerts = stream,
            Cooldown = TimeSpan.FromMinutes(cooldownMinutes), Name = "m",
        });
        var alerts = Run(op, rows, seed: 3);

        // Reference: per key, a detection is an alert unless the key's last alert is less than the cooldown before it.
        var cooldown = cooldownMinutes * 60_000_000L;
        var last = new Dictionary<string, long>();
        var expected = new List<(string, long)>();
        var suppressed = 0;
        foreach (var r in rows.Where(r => r.Value > 0.5))
        {
            if (cooldown > 0 && last.TryGetValue(r.Key, out var t) && r.Time - t < cooldown) { suppressed++; continue; }
            last[r.Key] = r.Time;
            expected.Add((r.Key, r.Time));
        }
        var key = (Alert a) => keyColumn == "id" ? "k" + a.Key : a.Key;
        Assert.Equal(expected, alerts.Select(a => (key(a), a.EventTime)));
        Assert.Equal(suppressed, stream.Suppressed);
        var report = op.GetReport();
        Assert.Equal(expected.Count, report.Alerts);
        Assert.Equal(suppressed, report.Suppressed);
        Assert.Equal(rows.Count(r => r.Value > 0.5), report.Detections);
        Assert.Equal(25, report.Keys);
        if (cooldownMinutes > 0) Assert.True(suppressed > 100, $"{suppressed} suppressed: the data should exercise the cooldown");
        Assert.All(alerts, a => Assert.Equal(("value", "above-half", 1.0, 0.5, "m"), (a.Column, a.Detector, a.Statistic, a.Threshold, a.Monitor)));
    }

    [Fact]
    public void Each_key_has_its_own_page_hinkley_and_alerts_carry_the_triggering_rows_time()
    {
        // Three interleaved series of N(0,1) with level shifts at different rows; one detector for all would mix them.
        var rng = new Random(5);
        var rows = new List<Row>();
        var shiftAt = new Dictionary<string, int> { ["k1"] = 1500, ["k2"] = 2500, ["k3"] = int.MaxValue };
        var counts = new Dictionary<string, int> { ["k1"] = 0, ["k2"] = 0, ["k3"] = 0 };
        for (var i = 0; i < 12_000; i++)
        {
            var key = $"k{rng.Next(1, 4)}";
            var n = counts[key]++;
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            rows.Add(new Row(key, 1_000L * i, normal + (n >= shiftAt[key] ? 3 : 0)));
        }
        var stream = new AlertStream();
        var op = new MonitorOperator(new MonitorOptions
        {
            Columns = ["value"], KeyColumn = "key", Alerts = stream,
            CreateDetector = () => new DriftDetectorMonitor(new PageHinkley(delta: 0.5, lambda: 25, alpha: 1, minInstances: 30)),
        });
        var alerts = Run(op, rows, seed: 9);

        var references = new Dictionary<string, PageHinkleyReference>();
        var expected = new List<(string, long)>();
        foreach (var r in rows)
        {
            var reference = references.TryGetValue(r.Key, out var p) ? p : references[r.Key] = new PageHinkleyReference(0.5, 25, 30);
            if (reference.Update(r.Value)) expected.Add((r.Key, r.Time));
        }
        Assert.Equal(expected, alerts.Select(a => (a.Key, a.EventTime)));
        // The shifted series alert (soon after their shift); the stationary one does not.
        Assert.Contains(alerts, a => a.Key == "k1");
        Assert.Contains(alerts, a => a.Key == "k2");
        Assert.DoesNotContain(alerts, a => a.Key == "k3");
    }

    [Theory]
    [InlineData("zscore")]
    [InlineData("seasonal")]
    public void Anomaly_detectors_run_as_keyed_banks_give_the_alerts_of_one_detector_per_key(string detector)
    {
        var rng = new Random(21);
        var rows = new List<Row>();
        for (var i = 0; i < 30_000; i++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            rows.Add(new Row($"k{rng.Next(40)}", 60_000_000L * i, 10 + normal + (rng.NextDouble() < 0.002 ? 12 : 0)));
        }
        var settings = new StreamMl.Operators.Anomaly.AnomalyDetectorSettings(detector);
        var banked = new MonitorOperator(new MonitorOptions { Columns = ["value"], KeyColumn = "key", Alerts = new AlertStream(), Detector = settings });
        var perKey = new MonitorOperator(new MonitorOptions
        {
            Columns = ["value"], KeyColumn = "key", Alerts = new AlertStream(),
            CreateDetector = () => new AnomalyDetectorMonitor(StreamMl.Operators.Anomaly.AnomalyDetectors.Create(settings)),
        });
        var fromBanks = Run(banked, rows, seed: 2);
        var fromObjects = Run(perKey, rows, seed: 5);
        Assert.True(fromObjects.Count >= 10, $"{fromObjects.Count} alerts: the data should make the detector fire");
        Assert.Equal(fromObjects.Select(a => (a.Key, a.EventTime, a.Statistic, a.Threshold, a.Detector)),
            fromBanks.Select(a => (a.Key, a.EventTime, a.Statistic, a.Threshold, a.Detector)));
    }

    [Fact]
    public void Steady_state_processing_without_detections_allocates_nothing()
    {
        var stream = new AlertStream();
        var op = new MonitorOperator(new MonitorOptions
        {
            Columns = ["value", "id"], KeyColumn = "key", Alerts = stream,
            CreateDetector = () => new DriftDetectorMonitor(new PageHinkley(delta: 0.5, lambda: 1e9)),
        });
        op.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 4096);
        var rng = new Random(1);
        var rows = Enumerable.Range(0, 4096).Select(i => new Row($"k{rng.Next(100)}", i, rng.NextDouble())).ToList();
        Fill(batch, rows, keyAsId: false);
        for (var i = 0; i < 4; i++) op.Process(batch, StageContext.Standalone("m")); // every key and detector created
        var context = StageContext.Standalone("m");
        Assert.Equal(0, SteadyState.AllocatedBytes(() => op.Process(batch, context), 200));
        Assert.Equal(0, op.GetReport().Detections);

        // The same with the keyed bank of an anomaly detector.
        var banked = new MonitorOperator(new MonitorOptions
        {
            Columns = ["value", "id"], KeyColumn = "key", Alerts = stream,
            Detector = new StreamMl.Operators.Anomaly.AnomalyDetectorSettings("zscore", new Dictionary<string, string> { ["threshold"] = "1000" }),
        });
        banked.Bind(s_schema);
        for (var i = 0; i < 4; i++) banked.Process(batch, context);
        Assert.Equal(0, SteadyState.AllocatedBytes(() => banked.Process(batch, context), 200));
        Assert.Equal(0, banked.GetReport().Detections);
    }

    [Fact]
    public void DriftOperator_exposes_every_detection_of_a_batch_with_its_rows_event_time()
    {
        var rows = DriftOperatorTests.Generate(2000, seed: 4, startTime: 5_000_000, step: 1000);
        var spikes = new[] { 400, 700, 1000, 1600 };
        foreach (var s in spikes) rows[s] = rows[s] with { Score = 100 };
        var fired = new List<DetectorDetection>();
        var drift = new DriftOperator(new DriftOptions
        {
            Profile = DriftOperatorTests.BuildProfile(DriftOperatorTests.Generate(2000, seed: 1)),
            Monitors = [new ScalarMonitor("score", new PageHinkley(delta: 0.5, lambda: 25, alpha: 1))],
            DetectorFired = fired.Add,
        });
        drift.Bind(DriftOperatorTests.s_schema);
        using var batch = new ColumnBatch(DriftOperatorTests.s_schema, 4096);
        drift.Process(DriftOperatorTests.Fill(batch, rows), StageContext.Standalone("drift"));

        var expected = spikes.Select(s => rows[s].Time).ToList();
        Assert.Equal(expected, drift.GetLastBatchDetections().Select(d => d.EventTime));
        Assert.Equal(expected, fired.Select(d => d.EventTime));
        Assert.All(fired, d => Assert.Equal(("score", "page-hinkley", 100.0), (d.Column, d.Detector, d.Value)));
        // The report's single "last detection" is the newest of the four.
        Assert.Equal(expected[^1], drift.GetReport().Detectors!.Single().LastDetectionEventTime);
        // A later batch without detections clears the list.
        drift.Process(DriftOperatorTests.Fill(batch, DriftOperatorTests.Generate(100, seed: 8, startTime: 10_000_000_000)), StageContext.Standalone("drift"));
        Assert.Empty(drift.GetLastBatchDetections());
    }

    [Fact]
    public async Task The_alert_source_writes_one_row_per_alert_and_ends_after_Complete()
    {
        var stream = new AlertStream();
        var source = stream.CreateSource(capacity: 2);
        stream.Publish(new Alert { Kind = "anomaly", Key = "dev-1", EventTime = 123, Column = "t", Detector = "adwin", Message = "m1", Statistic = 2.5 });
        stream.Publish(new Alert { Kind = "drift", Key = "f", EventTime = 456, Column = "f", Detector = "drift-window", Message = "m2", Severity = AlertSeverity.Critical });
        stream.Publish(new Alert { Kind = "anomaly", Key = "dev-2", EventTime = 789, Column = "t", Detector = "adwin", Message = "lost" });
        stream.Complete();
        Assert.Equal(1, stream.Dropped); // the queue held two

        using var batch = new ColumnBatch(AlertStream.Schema, 16);
        Assert.True(await source.FillAsync(batch, CancellationToken.None));
        Assert.Equal(2, batch.Length);
        string S(string column, int row) => batch[column].Dictionary![batch[column].Values<int>()[row]];
        Assert.Equal(("dev-1", 123L, "adwin", 2.5, "warning", "m1"), (S("key", 0), batch["event_time"].Values<long>()[0], S("detector", 0), batch["statistic"].Values<double>()[0], S("severity", 0), S("message", 0)));
        Assert.Equal(("drift", "critical", 456L), (S("kind", 1), S("severity", 1), batch.EventTimes[1]));
        Assert.False(batch["statistic"].IsValid(1)); // NaN statistic: null
        batch.Reset();
        Assert.False(await source.FillAsync(batch, CancellationToken.None));
        Assert.Equal(0, batch.Length);
    }
}
