using System.Diagnostics;
using HdrHistogram;
using StreamMl.Benchmarks.ConnectorBenchmarks;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S4: Kafka → score → Kafka on librdkafka's in-process mock cluster, StreamMl's KafkaSource → score →
/// KafkaSink against Streamiz.Kafka.Net (Kafka Streams for .NET) on the same cluster and topics. It drives the
/// connectors' <see cref="KafkaPipelineBenchmarks"/>: each round starts a fresh consumer group and waits for it to join
/// (about 3 s on the mock, not measured), then times producing 80,000 JSON messages until 80,000 scored messages are in
/// the output topic.</summary>
public sealed class S4Kafka : IScenario
{
    private const int Messages = 80_000;
    private static readonly Lazy<KafkaPipelineBenchmarks> s_bench = new(() =>
    {
        var bench = new KafkaPipelineBenchmarks();
        bench.Setup();
        return bench;
    });

    /// <inheritdoc/>
    public string Id => "S4";

    /// <inheritdoc/>
    public string Title => "Kafka → score → Kafka on the mock cluster (80,000 JSON messages, 4 partitions)";

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size) => _ = s_bench.Value;

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Variant("StreamMl KafkaSource → score → KafkaSink", true, b => b.StartStreamMl(), b => b.StreamMl()),
        new Variant("Streamiz.Kafka.Net MapValues → To", false, b => b.StartStreamiz(), b => b.StreamizKafkaNet()),
    ];

    private sealed class Variant(string name, bool isStreamMl, Action<KafkaPipelineBenchmarks> start, Action<KafkaPipelineBenchmarks> run) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;
        public bool TimesItself => true;

        public Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var bench = s_bench.Value;
            start(bench);
            try
            {
                var clock = Stopwatch.GetTimestamp();
                run(bench);
                latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - clock));
            }
            finally
            {
                bench.Stop();
            }
            return Task.FromResult(((long)Messages, 0L));
        }
    }
}
