using HdrHistogram;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>Latency percentiles from an HdrHistogram (microsecond resolution, up to 60 s, 3 significant digits).</summary>
internal sealed class LatencyRecorder
{
    private readonly LongHistogram _histogram = new(60_000_000, 3);
    private readonly object _gate = new();

    public void Record(TimeSpan elapsed)
    {
        var micros = Math.Clamp((long)(elapsed.Ticks / 10), 0, 60_000_000);
        lock (_gate) _histogram.RecordValue(micros);
    }

    public LatencyPercentiles Snapshot()
    {
        lock (_gate)
        {
            if (_histogram.TotalCount == 0) return new LatencyPercentiles();
            return new LatencyPercentiles
            {
                P50Us = _histogram.GetValueAtPercentile(50),
                P90Us = _histogram.GetValueAtPercentile(90),
                P99Us = _histogram.GetValueAtPercentile(99),
                MaxUs = _histogram.GetMaxValue(),
                Count = _histogram.TotalCount,
            };
        }
    }
}
