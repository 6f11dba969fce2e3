using System.Diagnostics;
using System.Reactive.Linq;
using System.Threading.Tasks.Dataflow;
using Akka.Streams;
using Akka.Streams.Dsl;
using HdrHistogram;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S2: sensor rows in memory → validate → standardise 32 readings and one-hot the device → gradient-boosted
/// tree ONNX model → drift statistics → discard. StreamMl runs it as batches through the ring; the peers run the same
/// steps row by row, as their users write them (one object per row, one ONNX Runtime call per row).</summary>
public sealed class S2SensorPipeline : IScenario
{
    /// <inheritdoc/>
    public string Id => "S2";

    /// <inheritdoc/>
    public string Title => "sensor pipeline in memory: validate → standardise + one-hot (41 features) → GBT ONNX → drift";

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size) => _ = SensorWorkload.Instance;

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Variant("StreamMl pipeline", true, 1_000_000, StreamMlAsync),
        new Variant("TPL Dataflow (row by row)", false, 200_000, DataflowAsync),
        new Variant("Rx.NET (row by row)", false, 200_000, RxAsync),
        new Variant("Akka.Streams (row by row)", false, 200_000, AkkaAsync),
    ];

    private sealed class Variant(string name, bool isStreamMl, long fullRows, Func<long, LongHistogram, Task<long>> run) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var rows = await run(size == ScenarioSize.Smoke ? 5_000 : fullRows, latency).ConfigureAwait(false);
            return (rows, rows * SensorWorkload.Readings * sizeof(float));
        }
    }

    private static async Task<long> StreamMlAsync(long rows, LongHistogram latency)
    {
        var workload = SensorWorkload.Instance;
        var features = workload.Features.Clone();
        using var model = OnnxModel.FromBytes(workload.OnnxBytes, "gbt");
        using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = features.OutputColumns });
        var drift = new DriftOperator(new DriftOptions { Profile = workload.Profile });
        var source = new TimedReplay(rows);
        var sink = new LatencyDiscardSink(source, latency);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "s2" })
            .Then(new RangeCheck()).Then(features).Then(scorer).Then(drift).To(sink).Build();
        await pipeline.RunAsync().ConfigureAwait(false);
        return sink.Rows;
    }

    /// <summary>Rejects rows with a reading that is not finite or beyond <see cref="SensorWorkload.Bound"/>.</summary>
    private sealed class RangeCheck : IBatchOperator
    {
        private int[] _columns = [];

        public string Name => "validate";

        public Schema Bind(Schema input)
        {
            _columns = Enumerable.Range(0, SensorWorkload.Readings).Select(f => input.Require($"f{f}", ColumnType.Float32)).ToArray();
            return input;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            foreach (var column in _columns)
            {
                var values = batch.Values<float>(column);
                for (var row = 0; row < values.Length; row++)
                    if (!float.IsFinite(values[row]) || Math.Abs(values[row]) > SensorWorkload.Bound)
                        context.Reject(batch, row, "range", $"{batch.Schema[column].Name} = {values[row]} is outside ±{SensorWorkload.Bound}");
            }
        }
    }

    private sealed class TimedReplay(long rows) : IBatchSource
    {
        private readonly ReplaySource _inner = new(rows);
        public readonly long[] FilledAt = new long[1 << 16];
        private long _fills;

        public string Name => "replay";
        public Schema Schema => _inner.Schema;
        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            var more = _inner.FillAsync(batch, cancellationToken);
            Volatile.Write(ref FilledAt[_fills++ & (FilledAt.Length - 1)], Stopwatch.GetTimestamp());
            return more;
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) { }
        public string Describe(int partition, long offset) => _inner.Describe(partition, offset);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class LatencyDiscardSink(TimedReplay source, LongHistogram latency) : IBatchSink
    {
        public long Rows;
        public string Name => "discard";
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Write(ColumnBatch batch, long sequence)
        {
            var rows = batch.Selection.Count;
            Rows += rows;
            var elapsed = Stopwatch.GetTimestamp() - Volatile.Read(ref source.FilledAt[sequence & (source.FilledAt.Length - 1)]);
            latency.RecordValueWithCount(Math.Max(1, elapsed), Math.Max(1, rows));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static void Finish(SensorRowSteps steps, SensorRow row, LongHistogram latency)
    {
        steps.Drift(row);
        latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - row.CreatedAt));
    }

    private static async Task<long> DataflowAsync(long rows, LongHistogram latency)
    {
        using var steps = new SensorRowSteps();
        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = 1024 };
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        var featurize = new TransformBlock<SensorRow, SensorRow>(steps.Featurize, options);
        var score = new TransformBlock<SensorRow, SensorRow>(steps.Score, options);
        var drift = new ActionBlock<SensorRow>(row => Finish(steps, row, latency), options);
        featurize.LinkTo(score, link);
        score.LinkTo(drift, link);
        for (long i = 0; i < rows; i++)
        {
            var row = SensorRowSteps.Generate(i);
            if (!SensorRowSteps.Validate(row)) continue;
            await featurize.SendAsync(row).ConfigureAwait(false);
        }
        featurize.Complete();
        await drift.Completion.ConfigureAwait(false);
        return steps.Rows;
    }

    private static async Task<long> RxAsync(long rows, LongHistogram latency)
    {
        using var steps = new SensorRowSteps();
        await Observable.Range(0, (int)rows)
            .Select(i => SensorRowSteps.Generate(i))
            .Where(SensorRowSteps.Validate)
            .Select(steps.Featurize)
            .Select(steps.Score)
            .Do(row => Finish(steps, row, latency))
            .LastOrDefaultAsync();
        return steps.Rows;
    }

    private static async Task<long> AkkaAsync(long rows, LongHistogram latency)
    {
        using var steps = new SensorRowSteps();
        await Source.From(Enumerable.Range(0, (int)rows))
            .Select(i => SensorRowSteps.Generate(i))
            .Where(SensorRowSteps.Validate)
            .Select(steps.Featurize)
            .Async()
            .Select(steps.Score)
            .Async()
            .RunForeach(row => Finish(steps, row, latency), AkkaSystem.Materializer).ConfigureAwait(false);
        return steps.Rows;
    }
}
