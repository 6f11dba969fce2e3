using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Confluent.Kafka;
using StreamMl.Connectors;
using StreamMl.Engine;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;

namespace StreamMl.Benchmarks.ConnectorBenchmarks;

/// <summary>Kafka → score → Kafka on librdkafka's mock cluster (3 brokers, 4 partitions, in process): StreamMl's
/// KafkaSource → LinearScore → KafkaSink (JSON in, JSON out, idempotent producer, offsets committed at checkpoints)
/// against Streamiz.Kafka.Net (the .NET port of Kafka Streams) running Stream → MapValues(score) → To on the same
/// cluster. One operation = produce 80,000 input messages (20,000 per partition) and wait until 80,000 scored messages are in the output
/// topic. Each iteration starts a fresh consumer group and waits for it to join and process a warm-up message per
/// partition before the operation, so the group join (about 3 s on the mock) is not measured.</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class KafkaPipelineBenchmarks
{
    private const int Messages = 80_000;
    private const int Features = 8;
    private const int Warm = 8; // 4 output markers + 4 scored warm-up messages
    private static readonly string[] s_features = Enumerable.Range(0, Features).Select(f => $"f{f}").ToArray();
    private static readonly float[] s_weights = Enumerable.Range(0, Features).Select(f => 0.1f * (f + 1)).ToArray();

    private IProducer<byte[], byte[]>? _cluster;
    private IProducer<byte[], byte[]>? _input;
    private string _bootstrap = "";
    private byte[][] _payloads = [];
    private int _iteration;
    private string _inTopic = "";
    private string _outTopic = "";
    private Pipeline? _pipeline;
    private KafkaStream? _streamiz;
    private OutputCounter? _counter;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _payloads = Enumerable.Range(0, Messages).Select(i =>
        {
            var record = new Dictionary<string, object> { ["device"] = $"d{i % 100}" };
            for (var f = 0; f < Features; f++) record[s_features[f]] = MathF.Round((float)random.NextDouble() * 100, 3);
            return JsonSerializer.SerializeToUtf8Bytes(record);
        }).ToArray();
    }

    // A fresh mock cluster per iteration keeps the runs independent (the mock holds every message in memory).
    private void NewCluster()
    {
        _input?.Dispose();
        _cluster?.Dispose();
        var config = new ProducerConfig { BootstrapServers = "placeholder:9092" };
        config.Set("test.mock.num.brokers", "3");
        _cluster = new ProducerBuilder<byte[], byte[]>(config).Build();
        using var admin = new DependentAdminClientBuilder(_cluster.Handle).Build();
        _bootstrap = string.Join(",", admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Select(b => $"{b.Host}:{b.Port}"));
        _input = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _bootstrap, LingerMs = 20, BatchSize = 1_000_000, Acks = Acks.All }).Build();
    }

    private void NewTopics()
    {
        NewCluster();
        _iteration++;
        _inTopic = $"in-{_iteration}";
        _outTopic = $"out-{_iteration}";
        // One warm-up message per partition creates the topic and, once scored, proves the group has joined.
        // The output topic exists before the engines start (Streamiz fails a task on "unknown topic" instead of waiting
        // for auto-creation): one marker per output partition, counted in Warm.
        for (var p = 0; p < 4; p++)
        {
            _input!.Produce(new TopicPartition(_outTopic, p), new Message<byte[], byte[]> { Value = _payloads[p] });
            _input!.Produce(new TopicPartition(_inTopic, p), new Message<byte[], byte[]> { Value = _payloads[p] });
        }
        _input!.Flush(TimeSpan.FromSeconds(30));
        _counter = new OutputCounter(_bootstrap, _outTopic);
    }

    [IterationSetup(Target = nameof(StreamMl))]
    public void StartStreamMl()
    {
        NewTopics();
        var schema = new Schema([new Field("device", ColumnType.String), .. s_features.Select(f => new Field(f, ColumnType.Float32))]);
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = _bootstrap, Topics = [_inTopic], GroupId = $"streamml-{_iteration}", Schema = schema,
        });
        var sink = new KafkaSink(new KafkaSinkOptions
        {
            BootstrapServers = _bootstrap, Topic = _outTopic, Columns = ["device", "score"], KeyColumn = "device",
        });
        _pipeline = Pipeline.From(source, new PipelineOptions { Name = "bench", FlushInterval = TimeSpan.FromMilliseconds(50) })
            .Then(new LinearScore(s_features, s_weights, 1f)).To(sink).Build();
        _pipeline.StartAsync().GetAwaiter().GetResult();
        _counter!.WaitFor(Warm);
    }

    [IterationSetup(Target = nameof(StreamizKafkaNet))]
    public void StartStreamiz()
    {
        NewTopics();
        var config = new StreamConfig<ByteArraySerDes, ByteArraySerDes>
        {
            ApplicationId = $"streamiz-{_iteration}",
            BootstrapServers = _bootstrap,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            Guarantee = ProcessingGuarantee.AT_LEAST_ONCE,
        };
        var builder = new StreamBuilder();
        builder.Stream<byte[], byte[]>(_inTopic).MapValues<byte[]>((v, _) => ScoreRecord(v), "score").To(_outTopic);
        _streamiz = new KafkaStream(builder.Build(), config);
        _streamiz.StartAsync().GetAwaiter().GetResult();
        _counter!.WaitFor(Warm);
    }

    // What a Kafka Streams application does per record: parse the JSON value, score it, write a JSON value.
    private static byte[] ScoreRecord(byte[] value)
    {
        using var document = JsonDocument.Parse(value);
        Span<float> features = stackalloc float[Features];
        for (var f = 0; f < Features; f++) features[f] = document.RootElement.GetProperty(s_features[f]).GetSingle();
        var score = LinearScore.Score(features, s_weights, 1f);
        using var stream = new MemoryStream(64);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("device", document.RootElement.GetProperty("device").GetString());
            writer.WriteNumber("score", score);
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    private void ProduceAndWait()
    {
        for (var i = 0; i < Messages; i++)
        {
            while (true)
            {
                try
                {
                    // Spread evenly: the mock cluster keeps only about 30,000 messages per partition and drops older
                    // segments beyond that, so an uneven (sticky) spread would lose input before it is read.
                    _input!.Produce(new TopicPartition(_inTopic, i % 4), new Message<byte[], byte[]> { Value = _payloads[i] });
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    _input!.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
        if (_input!.Flush(TimeSpan.FromSeconds(60)) > 0) throw new TimeoutException("the input was not acknowledged");
        _counter!.WaitFor(Messages + Warm);
    }

    [IterationSetup(Target = nameof(InputOnly))]
    public void StartNothing() => NewTopics();

    /// <summary>The floor of both engines' operation: producing the input and having it acknowledged, nothing consuming it.</summary>
    [Benchmark(Description = "floor: producing the 80,000 input messages only")]
    public void InputOnly()
    {
        for (var i = 0; i < Messages; i++)
        {
            while (true)
            {
                try
                {
                    _input!.Produce(new TopicPartition(_inTopic, i % 4), new Message<byte[], byte[]> { Value = _payloads[i] });
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    _input!.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
        if (_input!.Flush(TimeSpan.FromSeconds(60)) > 0) throw new TimeoutException("the input was not acknowledged");
    }

    [Benchmark(Baseline = true, Description = "Streamiz.Kafka.Net: stream → MapValues(score) → to")]
    public void StreamizKafkaNet() => ProduceAndWait();

    [Benchmark(Description = "StreamMl: KafkaSource → LinearScore → KafkaSink")]
    public void StreamMl() => ProduceAndWait();

    [IterationCleanup]
    public void Stop()
    {
        if (_pipeline is not null)
        {
            _pipeline.StopAsync().GetAwaiter().GetResult();
            _pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _pipeline = null;
        }
        _streamiz?.Dispose();
        _streamiz = null;
        _counter?.Dispose();
        _counter = null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _input?.Dispose();
        _cluster?.Dispose();
    }

    /// <summary>Counts the messages written to the output topic by polling its partitions' high watermarks (independent
    /// of whether anyone reads them, and of the mock cluster's segment retention).</summary>
    private sealed class OutputCounter : IDisposable
    {
        private readonly IConsumer<Ignore, Ignore> _consumer;
        private readonly string _topic;

        public OutputCounter(string bootstrap, string topic)
        {
            _topic = topic;
            _consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "counter-" + topic }).Build();
        }

        private long Count()
        {
            long total = 0;
            for (var p = 0; p < 4; p++)
            {
                try
                {
                    total += _consumer.QueryWatermarkOffsets(new TopicPartition(_topic, p), TimeSpan.FromSeconds(5)).High.Value;
                }
                catch (KafkaException)
                {
                    // the topic does not exist yet
                }
            }
            return total;
        }

        public void WaitFor(long count)
        {
            var until = DateTime.UtcNow.AddMinutes(3);
            long seen;
            while ((seen = Count()) < count)
            {
                if (DateTime.UtcNow > until) throw new TimeoutException($"only {seen} of {count} messages reached the output topic");
                Thread.Sleep(2);
            }
        }

        public void Dispose() => _consumer.Dispose();
    }
}
