using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Score, ScoreStream, Ingest and Subscribe through a real gRPC client against Kestrel on 127.0.0.1.</summary>
[Collection(HostCollection.Name)]
public sealed class DataPlaneTests(HostFixture host)
{
    private async Task<string> CreateAsync(string name, bool start = true, string model = "linear-a", bool other = false, int referenceRows = 400, int windowRows = 200)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = TestSpecs.Sensors(name, model, other, referenceRows, windowRows), Start = start, Replace = true,
        });
        return name;
    }

    [Fact]
    public async Task Score_returns_the_linear_models_probability_for_every_row()
    {
        var name = await CreateAsync("score-unary");
        var readings = TestSpecs.Readings(50, seed: 1);
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings), RequestId = "r1" });

        Assert.Equal("r1", response.RequestId);
        Assert.Equal(readings.Count, response.Scores.Count);
        for (var i = 0; i < readings.Count; i++)
        {
            var r = readings[i];
            Assert.False(response.Scores[i].Rejected, response.Scores[i].Reason);
            Assert.Equal(i, response.Scores[i].Row);
            TestSpecs.AssertClose(TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure), response.Scores[i].Score);
            Assert.Equal("linear-a@1", response.Scores[i].Model);
        }
    }

    [Fact]
    public async Task Score_accepts_Arrow_IPC_and_agrees_with_protobuf_rows()
    {
        var name = await CreateAsync("score-arrow");
        var readings = TestSpecs.Readings(100, seed: 2);
        var client = host.DataPlane();
        var fromArrow = await client.ScoreAsync(new ScoreRequest { Pipeline = name, ArrowIpc = ByteString.CopyFrom(TestSpecs.ToArrow(readings)) });
        var fromRows = await client.ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings) });
        Assert.Equal(fromRows.Scores.Select(s => s.Score), fromArrow.Scores.Select(s => s.Score));
        TestSpecs.AssertClose(TestSpecs.Reference(readings[7].Temperature, readings[7].Vibration, readings[7].Pressure), fromArrow.Scores[7].Score);
    }

    [Fact]
    public async Task Rows_with_an_unusable_model_input_come_back_rejected_with_the_reason_and_become_dead_letters()
    {
        var name = await CreateAsync("score-reject");
        var rows = TestSpecs.ToRowSet(TestSpecs.Readings(3, seed: 3));
        rows.Rows[1].Values[2] = new Value { Number = double.NaN }; // vibration
        rows.Rows[2].Values[3] = new Value(); // pressure null
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = rows });

        Assert.False(response.Scores[0].Rejected);
        Assert.True(response.Scores[1].Rejected);
        Assert.Contains("vibration", response.Scores[1].Reason);
        Assert.True(response.Scores[2].Rejected);
        Assert.Contains("pressure", response.Scores[2].Reason);

        var page = await host.Query().ListDeadLettersAsync(new DeadLettersRequest { Pipeline = name, PageSize = 1 });
        Assert.Equal(2, page.Total);
        Assert.Single(page.Letters);
        Assert.Equal("model-input", page.Letters[0].Rule);
        var next = await host.Query().ListDeadLettersAsync(new DeadLettersRequest { Pipeline = name, PageSize = 1, PageToken = page.NextPageToken });
        Assert.Single(next.Letters);
        Assert.Equal("", next.NextPageToken);
        Assert.NotEqual(page.Letters[0].Message, next.Letters[0].Message);
    }

    [Fact]
    public async Task Validation_rules_of_the_spec_reject_rows_in_Score_with_the_rule_and_column()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("score-validation", validation: true), Replace = true });
        var readings = new List<TestSpecs.Reading>
        {
            new("d1", 60, 1.0f, 100, false),
            new("d2", 60, -3.0f, 100, false),
            new("d9", 60, 1.0f, 100, false),
        };
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "score-validation", Rows = TestSpecs.ToRowSet(readings) });
        Assert.False(response.Scores[0].Rejected);
        TestSpecs.AssertClose(TestSpecs.Reference(60, 1.0, 100), response.Scores[0].Score);
        Assert.True(response.Scores[1].Rejected);
        Assert.Contains("range", response.Scores[1].Reason);
        Assert.Contains("vibration", response.Scores[1].Reason);
        Assert.True(response.Scores[2].Rejected);
        Assert.Contains("allowed", response.Scores[2].Reason);
        Assert.Contains("d9", response.Scores[2].Reason);
    }

    [Fact]
    public async Task ScoreStream_answers_each_request_in_order_with_the_same_scores_as_Score()
    {
        var name = await CreateAsync("score-stream");
        var client = host.DataPlane();
        var batches = Enumerable.Range(0, 5).Select(i => TestSpecs.Readings(10 + i, seed: 10 + i)).ToList();
        using var call = client.ScoreStream();
        for (var i = 0; i < batches.Count; i++)
            await call.RequestStream.WriteAsync(new ScoreRequest { Pipeline = i == 0 ? name : "", Rows = TestSpecs.ToRowSet(batches[i]), RequestId = $"q{i}" });
        await call.RequestStream.CompleteAsync();
        var responses = await call.ResponseStream.ReadAllAsync().ToListAsync();

        Assert.Equal(batches.Count, responses.Count);
        for (var i = 0; i < batches.Count; i++)
        {
            Assert.Equal($"q{i}", responses[i].RequestId);
            var unary = await client.ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(batches[i]) });
            Assert.Equal(unary.Scores.Select(s => s.Score), responses[i].Scores.Select(s => s.Score));
        }
    }

    [Fact]
    public async Task Ingested_rows_reach_subscribers_scored_and_the_sink_counts_them()
    {
        var name = await CreateAsync("ingest-subscribe");
        using var subscription = host.DataPlane(HostFixture.ReadKey).Subscribe(new SubscribeRequest { Pipeline = name, Rows = true, Columns = { "temperature", "vibration", "pressure", "score" } });
        await WaitForSubscriberAsync(name);

        var protoRows = TestSpecs.Readings(300, seed: 4);
        var arrowRows = TestSpecs.Readings(500, seed: 5);
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(protoRows) });
            await ingest.RequestStream.WriteAsync(new IngestRequest { ArrowIpc = ByteString.CopyFrom(TestSpecs.ToArrow(arrowRows)) });
            await ingest.RequestStream.CompleteAsync();
            var response = await ingest;
            Assert.Equal(800, response.RowsAccepted);
            Assert.Equal(2, response.Messages);
        }

        var received = new List<Row>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in subscription.ResponseStream.ReadAllAsync(timeout.Token))
        {
            if (e.KindCase != PipelineEvent.KindOneofCase.Rows) continue;
            Assert.Equal(["temperature", "vibration", "pressure", "score"], e.Rows.Columns);
            received.AddRange(e.Rows.Rows);
            if (received.Count >= 800) break;
        }
        var sent = protoRows.Concat(arrowRows).ToList();
        Assert.Equal(sent.Count, received.Count);
        for (var i = 0; i < sent.Count; i++)
        {
            Assert.Equal(sent[i].Temperature, (float)received[i].Values[0].Number);
            TestSpecs.AssertClose(TestSpecs.Reference(sent[i].Temperature, sent[i].Vibration, sent[i].Pressure), received[i].Values[3].Number);
        }

        // The memory sink runs on its own thread beside the subscribers' sink: let it catch up.
        PipelineStatus status;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do status = await host.Control().GetStatusAsync(new PipelineRef { Name = name });
        while (status.Stages.Single(s => s.Name == "memory").RowsOut < 800 && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal(800, status.Stages[0].RowsOut);
        Assert.Equal(800, status.Stages.Single(s => s.Name == "memory").RowsOut);
        Assert.Equal(0, status.LagRows);
    }

    [Fact]
    public async Task Drift_injected_into_the_stream_raises_an_alert_and_shows_in_the_report()
    {
        var name = await CreateAsync("drift-alert");
        using var subscription = host.DataPlane(HostFixture.ReadKey).Subscribe(new SubscribeRequest { Pipeline = name });
        await WaitForSubscriberAsync(name);
        var reference = TestSpecs.Readings(800, seed: 6);
        var shifted = TestSpecs.Readings(400, seed: 7, temperatureShift: 15);
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, ArrowIpc = ByteString.CopyFrom(TestSpecs.ToArrow(reference)) });
            await ingest.RequestStream.WriteAsync(new IngestRequest { ArrowIpc = ByteString.CopyFrom(TestSpecs.ToArrow(shifted)) });
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        DriftAlert? alert = null;
        await foreach (var e in subscription.ResponseStream.ReadAllAsync(timeout.Token))
            if (e.KindCase == PipelineEvent.KindOneofCase.Alert) { alert = e.Alert; break; }
        Assert.NotNull(alert);
        Assert.Equal("temperature", alert.Feature);
        Assert.Equal(2, alert.Window); // a reference of 400 rows, then windows of 200: the shifted rows start window 2

        // The alert comes with window 2; wait for the last window (3) to close too.
        DriftReport report;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do report = await host.Query().GetDriftReportAsync(new DriftReportRequest { Pipeline = name });
        while (report.Windows.Count < 4 && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal("drift", report.Status);
        Assert.Equal(400, report.ReferenceRows);
        var temperature = report.Features.Single(f => f.Feature == "temperature");
        var vibration = report.Features.Single(f => f.Feature == "vibration");
        // Means computed here from the rows sent: the reference is the first 400, the last window the last 200.
        Assert.Equal(reference.Take(400).Average(r => (double)r.Temperature), temperature.ReferenceMean, 3);
        Assert.Equal(shifted.Skip(200).Average(r => (double)r.Temperature), temperature.CurrentMean, 3);
        Assert.Equal("drift", temperature.Status);
        Assert.NotEqual("drift", vibration.Status);
        Assert.Equal(4, report.Windows.Count);
        Assert.All(report.Windows.Take(2), w => Assert.NotEqual("drift", w.Status));
        Assert.All(report.Windows.Skip(2), w => Assert.Equal("drift", w.Status));
    }

    [Fact]
    public async Task Metrics_report_accuracy_against_the_labels_and_Score_latency()
    {
        var name = await CreateAsync("metrics");
        var readings = TestSpecs.Readings(600, seed: 8);
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings) });
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }
        await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings.Take(5)) });
        // The Ingest call returns once the rows are queued; the model stage labels them later. A report that shows all
        // 605 labelled rows also shows the 600 rows read, since GetMetrics reads the model's counters before the
        // source's (it once failed with rows 0 when the order was the other way round).
        MetricsReport? metrics = null;
        await Eventually.TrueAsync(async () => (metrics = await host.Query().GetMetricsAsync(new MetricsRequest { Pipeline = name })).Model.LabelledRows >= 605,
            "605 labelled rows (600 ingested, 5 scored)", seen: () => $"{metrics?.Model.LabelledRows} labelled, {metrics?.Rows} read");

        var all = readings.Concat(readings.Take(5)).ToList();
        var expectedAccuracy = all.Count(r => TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure) >= 0.5 == r.Fault) / (double)all.Count;
        Assert.Equal(605, metrics!.Model.LabelledRows);
        Assert.Equal(expectedAccuracy, metrics.Model.Accuracy, 6);
        Assert.Equal(600, metrics.Rows);
        Assert.Equal(1, metrics.ScoreLatency.Count);
        Assert.True(metrics.ScoreLatency.P99Us >= metrics.ScoreLatency.P50Us);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(20);
        return true;
    }

    private async Task WaitForSubscriberAsync(string name)
    {
        // Events published before the server registered the subscription would be missed.
        var events = host.Pipelines.Get(name).Runtime.Events;
        await Eventually.TrueAsync(() => events.SubscriberCount > 0, "the subscription to reach the server");
    }
}
