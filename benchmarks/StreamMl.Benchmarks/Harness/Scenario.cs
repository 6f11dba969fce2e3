using System.Diagnostics;
using HdrHistogram;

namespace StreamMl.Benchmarks.Harness;

/// <summary>How much work a scenario run does: <see cref="Smoke"/> for CI (starts, produces a result), <see cref="Full"/>
/// for the numbers in docs/BENCHMARKS.md.</summary>
public enum ScenarioSize
{
    /// <summary>A tiny run: proves the scenario works, measures nothing worth reporting.</summary>
    Smoke,
    /// <summary>The run whose figures are reported.</summary>
    Full,
}

/// <summary>One way of doing a scenario's work: StreamMl's, or a peer's.</summary>
public interface IScenarioVariant
{
    /// <summary>Name in tables and charts.</summary>
    string Name { get; }

    /// <summary>True for StreamMl's own variant: ratios are reported against it.</summary>
    bool IsStreamMl { get; }

    /// <summary>Does the work once; records per-row (or per-batch) latencies in <paramref name="latency"/>.</summary>
    /// <returns>Rows processed and the bytes of input they represent (0 when meaningless).</returns>
    Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken);

    /// <summary>True when the variant times only its measured part itself, leaving out setup that cannot be moved to
    /// <see cref="IScenario.Prepare"/> (a Python interpreter starting, a Kafka consumer group joining): it records that
    /// time as the one value of the latency histogram, and the harness reports no allocations for it.</summary>
    bool TimesItself => false;

    /// <summary>True for a variant that runs at a fixed request rate to measure latency: its rows/s is the rate it was
    /// given, so no speed-up is computed against it.</summary>
    bool LatencyOnly => false;
}

/// <summary>A named comparison: the same work done by each variant, interleaved round by round.</summary>
public interface IScenario
{
    /// <summary>Short id, e.g. "S1".</summary>
    string Id { get; }

    /// <summary>What the scenario does.</summary>
    string Title { get; }

    /// <summary>Why the scenario cannot run here, or null when it can (missing Python modules, say).</summary>
    string? Unavailable => null;

    /// <summary>Builds what every variant shares (data files, trained models) before anything is measured; smoke runs
    /// build smaller models.</summary>
    void Prepare(ScenarioSize size) { }

    /// <summary>The variants, StreamMl's first.</summary>
    IReadOnlyList<IScenarioVariant> Variants { get; }
}

/// <summary>What one run of one variant measured.</summary>
public sealed record RunMeasurement(
    string Variant, bool IsStreamMl, bool LatencyOnly, long Rows, long Bytes, TimeSpan Elapsed, long AllocatedBytes,
    int Gen0, int Gen1, int Gen2, long PeakWorkingSet, double P50Micros, double P99Micros, double P999Micros)
{
    /// <summary>Rows per second.</summary>
    public double RowsPerSecond => Rows / Elapsed.TotalSeconds;

    /// <summary>Input megabytes per second.</summary>
    public double MegabytesPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;

    /// <summary>Managed bytes allocated per row, all threads.</summary>
    public double BytesPerRow => Rows == 0 ? 0 : AllocatedBytes / (double)Rows;
}

/// <summary>Runs one variant once and measures it: wall time, allocations on every thread, GC counts by generation,
/// peak working set (sampled every 5 ms) and latency percentiles from an HdrHistogram in microseconds.</summary>
public static class ScenarioMeasure
{
    /// <summary>Histogram bounds: 1 tick to 60 s in Stopwatch ticks, 3 significant digits.</summary>
    public static LongHistogram NewHistogram() => new(1, Stopwatch.Frequency * 60, 3);

    /// <summary>Measures one run.</summary>
    public static async Task<RunMeasurement> RunAsync(IScenarioVariant variant, ScenarioSize size, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var histogram = NewHistogram();
        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        long peak = Environment.WorkingSet;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Environment.WorkingSet);
                try { await Task.Delay(5, sampling.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        });
        var clock = Stopwatch.StartNew();
        var (rows, bytes) = await variant.RunAsync(size, histogram, cancellationToken).ConfigureAwait(false);
        clock.Stop();
        var elapsed = variant.TimesItself ? TimeSpan.FromSeconds(histogram.GetMaxValue() / (double)Stopwatch.Frequency) : clock.Elapsed;
        var allocatedAfter = GC.GetTotalAllocatedBytes(precise: true);
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        double Percentile(double p) => histogram.TotalCount == 0 ? double.NaN
            : histogram.GetValueAtPercentile(p) * 1e6 / Stopwatch.Frequency;
        return new RunMeasurement(variant.Name, variant.IsStreamMl, variant.LatencyOnly, rows, bytes, elapsed, variant.TimesItself ? 0 : allocatedAfter - allocated,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2, peak,
            Percentile(50), Percentile(99), Percentile(99.9));
    }
}
