using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Monitoring;

/// <summary>Alerts of a spec's monitors reach gRPC Subscribe (on a host built with AddStreamMl) with the key, the event
/// time of the triggering row, the detector and its statistic.</summary>
[Collection(HostCollection.Name)]
public sealed class AlertSubscribeTests(HostFixture host)
{
    [Fact]
    public async Task Monitor_alerts_arrive_on_Subscribe_with_key_and_event_time()
    {
        const string name = "monitor-subscribe";
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = $$"""
                name: {{name}}
                source: { kind: grpc, columns: { device: string, value: float64, ts: timestamp }, event_time: ts }
                monitors:
                  - columns: [value]
                    key: device
                    detector: page-hinkley
                    settings: { delta: 0.5, lambda: 25, alpha: 1 }
                    severity: critical
                sinks: [ { kind: memory, keep_rows: 0 } ]
                """,
            Start = true, Replace = true,
        });
        using var subscription = host.DataPlane(HostFixture.ReadKey).Subscribe(new SubscribeRequest { Pipeline = name });
        var events = host.Pipelines.Get(name).Runtime.Events;
        await Eventually.TrueAsync(() => events.SubscriberCount > 0, "the subscription to reach the server");

        // Two devices interleaved; spikes at device rows 100 (d1) and 250 (d2).
        var d1 = SensorSeries.Values(400, seed: 11, [100]);
        var d2 = SensorSeries.Values(400, seed: 12, [250]);
        var rows = new RowSet { Columns = { "device", "value", "ts" } };
        for (var i = 0; i < 400; i++)
        {
            rows.Rows.Add(Row("d1", d1[i], SensorSeries.Micros(i)));
            rows.Rows.Add(Row("d2", d2[i], SensorSeries.Micros(i)));
        }
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = rows });
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }

        var expected = new[] { ("d1", SensorSeries.Micros(100)), ("d2", SensorSeries.Micros(250)) };
        Assert.Equal([100], SensorSeries.PageHinkleyAlarms(d1, 0.5, 25));
        Assert.Equal([250], SensorSeries.PageHinkleyAlarms(d2, 0.5, 25));
        var alerts = new List<DriftAlert>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in subscription.ResponseStream.ReadAllAsync(timeout.Token))
        {
            if (e.KindCase == PipelineEvent.KindOneofCase.Alert) alerts.Add(e.Alert);
            if (alerts.Count == expected.Length) break;
        }
        Assert.Equal(expected, alerts.Select(a => (a.Key, a.EventTimeMicros)));
        Assert.All(alerts, a => Assert.Equal((name, "anomaly", "value", "page-hinkley", "critical"), (a.Pipeline, a.Kind, a.Column, a.Detector, a.Severity)));
        Assert.All(alerts, a => Assert.True(a.Statistic > 50, $"statistic {a.Statistic}"));
        await host.Control().DeletePipelineAsync(new PipelineRef { Name = name });
    }

    private static Row Row(string device, double value, long micros) => new()
    {
        Values = { new Value { Text = device }, new Value { Number = value }, new Value { TimestampMicros = micros } },
    };
}
