using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using StreamMl.Connectors;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.ConnectorBenchmarks;

/// <summary>MQTT messages into batches: 50,000 QoS 1 JSON messages queued by mosquitto for a persistent session are
/// drained by StreamMl's MqttSource (decoded into column batches, acknowledged after each batch is "durable") and, as
/// the baseline, by a plain MQTTnet client that only counts them (automatic acknowledgements, no decoding). Needs
/// STREAMML_MQTT (scripts/services.sh starts mosquitto). One operation = 50,000 messages.</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class MqttIngestBenchmarks
{
    private const int Messages = 50_000;
    private string _host = "";
    private int _port;
    private byte[][] _payloads = [];
    private string _clientId = "";
    private int _iteration;
    private readonly Schema _schema = new(new Field("seq", ColumnType.Int64), new Field("temp", ColumnType.Float32), new Field("ts", ColumnType.Timestamp));

    [GlobalSetup]
    public void Setup()
    {
        var address = Environment.GetEnvironmentVariable("STREAMML_MQTT")
            ?? throw new InvalidOperationException("STREAMML_MQTT is not set: run `source scripts/services.sh; services_start` first");
        _host = address[..address.LastIndexOf(':')];
        _port = int.Parse(address[(address.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _payloads = Enumerable.Range(0, Messages).Select(i => JsonSerializer.SerializeToUtf8Bytes(new { seq = i, temp = 20 + i % 10 * 0.5, ts = 1_700_000_000_000L + i })).ToArray();
    }

    // Registers a persistent session, then queues every message for it while it is offline.
    private void Preload()
    {
        _clientId = $"bench-{Environment.ProcessId}-{++_iteration}";
        var factory = new MqttClientFactory();
        using (var session = factory.CreateMqttClient())
        {
            session.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_host, _port).WithClientId(_clientId)
                .WithProtocolVersion(MqttProtocolVersion.V500).WithCleanStart(true).WithSessionExpiryInterval(3600).Build()).GetAwaiter().GetResult();
            session.SubscribeAsync(factory.CreateSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic("bench/+/telemetry")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build()).GetAwaiter().GetResult();
            session.DisconnectAsync().GetAwaiter().GetResult();
        }
        using var publisher = factory.CreateMqttClient();
        publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_host, _port).WithClientId(_clientId + "-pub").Build()).GetAwaiter().GetResult();
        // Publish in windows of concurrent QoS 1 publishes (each acknowledged by the broker).
        for (var start = 0; start < Messages; start += 500)
        {
            var window = Enumerable.Range(start, Math.Min(500, Messages - start)).Select(i => publisher.PublishAsync(
                new MqttApplicationMessageBuilder().WithTopic($"bench/d{i % 10}/telemetry").WithPayload(_payloads[i])
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()));
            Task.WhenAll(window).GetAwaiter().GetResult();
        }
        publisher.DisconnectAsync().GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(PlainMqttNet))]
    public void PreloadPlain() => Preload();

    [IterationSetup(Target = nameof(MqttSourceIntoBatches))]
    public void PreloadSource() => Preload();

    [Benchmark(Baseline = true, Description = "MQTTnet client, count only (auto-ack)")]
    public long PlainMqttNet()
    {
        var factory = new MqttClientFactory();
        using var client = factory.CreateMqttClient();
        long count = 0;
        var done = new TaskCompletionSource();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (Interlocked.Increment(ref count) == Messages) done.TrySetResult();
            return Task.CompletedTask;
        };
        client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_host, _port).WithClientId(_clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600)
            .WithReceiveMaximum(8192).Build()).GetAwaiter().GetResult();
        done.Task.WaitAsync(TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
        client.DisconnectAsync().GetAwaiter().GetResult();
        return count;
    }

    [Benchmark(Description = "StreamMl MqttSource into batches (decode + ack after durable)")]
    public long MqttSourceIntoBatches()
    {
        var source = new MqttSource(new MqttSourceOptions
        {
            Host = _host, Port = _port, ClientId = _clientId, Topics = ["bench/+/telemetry"], Schema = _schema,
            DeviceIdColumn = "device", EventTimeColumn = "ts", MaxInFlight = 8192,
        });
        source.OpenAsync(new SourceContext("bench", new CollectingDeadLetterSink()), default).AsTask().GetAwaiter().GetResult();
        using var batch = new ColumnBatch(source.Schema);
        long rows = 0;
        while (rows < Messages)
        {
            batch.Reset();
            source.FillAsync(batch, default).AsTask().GetAwaiter().GetResult();
            rows += batch.Length;
            // What the pipeline's checkpoint does once the sinks made the batch durable.
            source.Commit(batch.Positions.Ranges);
        }
        source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return rows;
    }
}
