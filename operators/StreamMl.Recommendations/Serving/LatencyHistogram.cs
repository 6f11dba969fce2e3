namespace StreamMl.Recommendations.Serving;

/// <summary>Counts latencies at 1 µs resolution up to 10 ms (longer ones share one overflow count and set the maximum),
/// lock-free, so percentiles below 10 ms are exact to the microsecond. 80 KB per histogram.</summary>
internal sealed class LatencyHistogram
{
    private const int Buckets = 10_000;
    private readonly long[] _counts = new long[Buckets + 1];
    private long _total;
    private long _maxMicros;

    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        Interlocked.Increment(ref _counts[Math.Min(micros, Buckets)]);
        Interlocked.Increment(ref _total);
        long max;
        while (micros > (max = Volatile.Read(ref _maxMicros)) && Interlocked.CompareExchange(ref _maxMicros, micros, max) != max) { }
    }

    public long Count => Volatile.Read(ref _total);

    public long MaxMicros => Volatile.Read(ref _maxMicros);

    /// <summary>The smallest latency at or below which <paramref name="percentile"/> % of the recorded ones lie
    /// (the maximum when that falls in the overflow); 0 when nothing was recorded.</summary>
    public long Percentile(double percentile)
    {
        var total = Count;
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(percentile / 100 * total);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank) return i;
        }
        return MaxMicros;
    }
}
