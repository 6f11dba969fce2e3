using Microsoft.Extensions.Logging.Abstractions;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Monitoring;

/// <summary>Issue 13 item 2: drift alerts fire for every window in drift (not only on the transition into drift), with
/// the window's end as event time, under the same per-key cooldown as the monitors; suppressed ones are counted.</summary>
public sealed class DriftAlertCooldownTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-drift-cooldown-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_window_in_drift_is_a_detection_and_the_cooldown_picks_the_alerts()
    {
        // 400 reference rows around 20, then five windows of 200 rows around 30 (ten standard deviations away).
        var values = SensorSeries.Values(1400, seed: 3, []);
        for (var i = 400; i < values.Length; i++) values[i] += 10;
        SensorSeries.WriteCsv(Path.Combine(_dir, "d.csv"), values);
        var spec = """
            name: drift-cooldown
            source: { kind: file, path: d.csv, columns: { timestamp: timestamp, value: float64 }, event_time: timestamp }
            drift: { features: [value], reference_rows: 400, window_rows: 200 }
            alerts: { cooldown: 5h }
            sinks: [ { kind: memory, keep_rows: 0 } ]
            """;
        await using var manager = new PipelineManager(ComponentRegistry.CreateDefault(), new ModelCatalog(), NullLogger<PipelineManager>.Instance);
        var alerts = new List<DriftAlert>();
        manager.Created += p => p.Runtime.Events.AlertRaised += a => { lock (alerts) alerts.Add(a); };
        var pipeline = await manager.CreateAsync(spec, start: true, replace: false, _dir, CancellationToken.None);
        await pipeline.Ended.WaitAsync(TimeSpan.FromSeconds(30));

        // Reference: every window is in drift; a window alerts unless the feature alerted less than 5 h (of event time) before.
        var windowEnds = Enumerable.Range(0, 5).Select(w => SensorSeries.Micros(400 + 200 * w + 199)).ToList();
        var (raised, suppressed) = SensorSeries.Cooldown(windowEnds, TimeSpan.FromHours(5));
        Assert.Equal(5, pipeline.Runtime.Drift!.Report("drift-cooldown", 0).Windows.Count(w => w.Status == "drift"));
        Assert.Equal(raised, alerts.Select(a => a.EventTimeMicros));
        Assert.All(alerts, a => Assert.Equal(("drift", "value", "value", "drift-window"), (a.Kind, a.Key, a.Feature, a.Detector)));
        Assert.Equal(suppressed, pipeline.Runtime.Alerts.Suppressed);
        Assert.Equal(raised.Count, pipeline.Runtime.Alerts.Published);
        Assert.True(suppressed > 0 && raised.Count > 1, "the data should show both: repeated alerts and suppressed ones");
    }
}
