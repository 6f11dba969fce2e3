using System.Diagnostics;
using System.Globalization;
using System.Text;
using HdrHistogram;
using StreamMl.Benchmarks.Scoring;
using StreamMl.Connectors.Memory;
using StreamMl.Engine;
using StreamMl.Engine.Ring;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Harness;

/// <summary>One point of a tuning sweep: the median of its rounds.</summary>
/// <param name="Sweep">The knob swept.</param>
/// <param name="Setting">Its value.</param>
/// <param name="RowsPerSecond">Throughput.</param>
/// <param name="P99Micros">p99 batch latency.</param>
/// <param name="PeakBatchBytes">Peak native memory held by batches (<see cref="NativeBuffer.LiveBytes"/>) during the run.</param>
public sealed record TuningPoint(string Sweep, string Setting, double RowsPerSecond, double P99Micros, long PeakBatchBytes);

/// <summary>Sweeps the engine's knobs on the in-memory sensor pipeline (32 float features → sink): batch size, wait
/// strategy, parallel pipelines and ring size. Latency is per batch, from the end of the source's fill to the sink's
/// write, counted once per row.</summary>
public static class TuningViews
{
    private sealed record Setting(string Sweep, string Value, int BatchCapacity, int RingSize, WaitStrategyKind Wait, int Parallel, int ScoringWorkers = 0);

    /// <summary>Runs every sweep: each setting once per round, rounds interleaved, the median round reported.</summary>
    public static async Task<IReadOnlyList<TuningPoint>> RunAsync(ScenarioSize size, TextWriter log, int rounds = 3)
    {
        var rows = size == ScenarioSize.Smoke ? 50_000L : 20_000_000L;
        if (size == ScenarioSize.Smoke) rounds = 1;
        var settings = new List<Setting>();
        foreach (var batch in new[] { 64, 256, 1024, 4096, 16384 })
            settings.Add(new("batch size", batch.ToString(CultureInfo.InvariantCulture), batch, 8, WaitStrategyKind.Blocking, 1));
        foreach (var wait in Enum.GetValues<WaitStrategyKind>())
            settings.Add(new("wait strategy", wait.ToString(), 1024, 8, wait, 1));
        foreach (var parallel in new[] { 1, 2 })
            settings.Add(new("parallel pipelines", parallel.ToString(CultureInfo.InvariantCulture), 4096, 8, WaitStrategyKind.Blocking, parallel));
        // The 100-tree LightGBM model (TreeBenchmarkModel) on f0..f31 as 1 or 2 pipeline workers; a tenth of the rows.
        foreach (var workers in new[] { 1, 2 })
            settings.Add(new("scoring workers", workers.ToString(CultureInfo.InvariantCulture), 4096, 8, WaitStrategyKind.Blocking, 1, workers));
        foreach (var ring in new[] { 2, 8, 32, 128 })
            settings.Add(new("ring size", ring.ToString(CultureInfo.InvariantCulture), 4096, ring, WaitStrategyKind.Blocking, 1));

        var runs = settings.ToDictionary(s => s, _ => new List<TuningPoint>());
        for (var round = 0; round < rounds; round++)
            foreach (var setting in settings)
                runs[setting].Add(await MeasureAsync(setting, rows, log));
        return settings.Select(s => runs[s].OrderBy(p => p.RowsPerSecond).ElementAt(runs[s].Count / 2)).ToList();
    }

    private static async Task<TuningPoint> MeasureAsync(Setting setting, long rows, TextWriter log)
    {
        GC.Collect();
        var histogram = ScenarioMeasure.NewHistogram();
        var peak = NativeBuffer.LiveBytes;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, NativeBuffer.LiveBytes);
                try { await Task.Delay(5, sampling.Token); } catch (OperationCanceledException) { }
            }
        });
        if (setting.ScoringWorkers > 0) rows /= 10;
        var clock = Stopwatch.StartNew();
        var baseline = NativeBuffer.LiveBytes;
        var pipelines = Enumerable.Range(0, setting.Parallel)
            .Select(p => RunPipelineAsync(rows / setting.Parallel, setting.BatchCapacity, setting.RingSize, setting.Wait, p, histogram, setting.ScoringWorkers)).ToList();
        await Task.WhenAll(pipelines);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;
        var point = new TuningPoint(setting.Sweep, setting.Value, rows / clock.Elapsed.TotalSeconds,
            histogram.GetValueAtPercentile(99) * 1e6 / Stopwatch.Frequency, peak - baseline);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tuning {setting.Sweep,-18} {setting.Value,-9} {point.RowsPerSecond,14:N0} rows/s  p99 {point.P99Micros,10:N1} µs  batches {point.PeakBatchBytes / 1e6:N1} MB"));
        return point;
    }

    private static async Task RunPipelineAsync(long rows, int batchCapacity, int ringSize, WaitStrategyKind wait, int seed, LongHistogram histogram,
        int scoringWorkers)
    {
        var source = new TimedSource(new ReplaySource(rows));
        var sink = new LatencySink(source, histogram);
        var builder = Pipeline.From(source, new PipelineOptions
        {
            BatchCapacity = batchCapacity, RingSize = ringSize, WaitStrategy = wait, Name = $"tuning-{seed}",
        });
        using var model = scoringWorkers > 0 ? OnnxModel.FromBytes(TreeBenchmarkModel.Create().Onnx, "lightgbm-100x31") : null;
        using var scorer = model is null ? null : new ScoringOperator(model, new ScoringOptions
        {
            FeatureColumns = [.. Enumerable.Range(0, TreeBenchmarkModel.Features).Select(c => $"f{c}")], Workers = scoringWorkers,
        });
        if (scorer is not null) builder = builder.Then(scorer);
        await using var pipeline = builder.To(sink).Build();
        await pipeline.RunAsync();
    }

    /// <summary>Remembers when each batch finished filling; batch k of a source is ring sequence k.</summary>
    private sealed class TimedSource(IBatchSource inner) : IBatchSource
    {
        public readonly long[] FilledAt = new long[1 << 16];
        private long _fills;

        public string Name => inner.Name;
        public Schema Schema => inner.Schema;
        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => inner.OpenAsync(context, cancellationToken);

        public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            var more = await inner.FillAsync(batch, cancellationToken);
            Volatile.Write(ref FilledAt[_fills++ & (FilledAt.Length - 1)], Stopwatch.GetTimestamp());
            return more;
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) => inner.Commit(ranges);
        public string Describe(int partition, long offset) => inner.Describe(partition, offset);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class LatencySink(TimedSource source, LongHistogram histogram) : IBatchSink
    {
        private readonly CountingSink _inner = new("memory", "f0");

        public string Name => _inner.Name;
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => _inner.OpenAsync(context, cancellationToken);

        public void Write(ColumnBatch batch, long sequence)
        {
            _inner.Write(batch, sequence);
            var latency = Stopwatch.GetTimestamp() - Volatile.Read(ref source.FilledAt[sequence & (source.FilledAt.Length - 1)]);
            lock (histogram) histogram.RecordValueWithCount(Math.Max(1, latency), Math.Max(1, batch.Length));
        }

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    /// <summary>The sweeps as Markdown tables.</summary>
    public static string ToMarkdown(IReadOnlyList<TuningPoint> points)
    {
        var text = new StringBuilder();
        foreach (var sweep in points.GroupBy(p => p.Sweep))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"#### Rows/s and p99 against {sweep.Key}");
            text.AppendLine();
            text.AppendLine($"| {sweep.Key} | Rows/s | p99 batch latency µs | Peak batch memory MB |");
            text.AppendLine("|---|---:|---:|---:|");
            foreach (var p in sweep)
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Setting} | {p.RowsPerSecond:N0} | {p.P99Micros:N1} | {p.PeakBatchBytes / 1e6:N1} |"));
            text.AppendLine();
        }
        return text.ToString();
    }
}
