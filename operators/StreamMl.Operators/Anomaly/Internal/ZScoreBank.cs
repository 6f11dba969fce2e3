namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>The rolling z-score's state for many keys: a ring of the last <c>window</c> values per key with running
/// sums, recomputed from the ring once per lap so rounding cannot accumulate.</summary>
internal sealed class ZScoreBank(ZScoreDetectorOptions options) : DetectorBank
{
    private readonly int _window = options.Window;
    private double[] _ring = [];
    private double[] _sum = [];
    private double[] _sumOfSquares = [];
    private long[] _count = [];
    private int _capacity;

    public override int Capacity => _capacity;

    public override double Threshold => options.Threshold;

    public override void EnsureCapacity(int slots)
    {
        if (slots <= _capacity) return;
        var grown = Grown(_capacity, slots);
        _ring = Resize(_ring, grown * _window);
        _sum = Resize(_sum, grown);
        _sumOfSquares = Resize(_sumOfSquares, grown);
        _count = Resize(_count, grown);
        _capacity = grown;
    }

    public override void Reset(int slot)
    {
        _sum[slot] = _sumOfSquares[slot] = 0;
        _count[slot] = 0;
    }

    public override void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores)
    {
        for (var i = 0; i < slots.Length; i++) scores[i] = Update(slots[i], values[i], eventTimes[i]);
    }

    public override AnomalyScore Update(int slot, double value, long eventTime)
    {
        if (!double.IsFinite(value)) return AnomalyScore.WarmingUp(options.Threshold) with { Statistic = double.NaN };
        var ring = _ring.AsSpan(slot * _window, _window);
        var count = _count[slot];
        var score = AnomalyScore.WarmingUp(options.Threshold);
        if (count >= _window)
        {
            var mean = _sum[slot] / _window;
            var variance = Math.Max(0, _sumOfSquares[slot] / _window - mean * mean);
            var deviation = Math.Abs(value - mean);
            var statistic = variance > 0 ? deviation / Math.Sqrt(variance) : deviation > 0 ? double.PositiveInfinity : 0;
            score = AnomalyScore.Grade(statistic, options.Threshold, options.WarningFraction);
        }
        var at = (int)(count % _window);
        if (count >= _window)
        {
            var old = ring[at];
            _sum[slot] -= old;
            _sumOfSquares[slot] -= old * old;
        }
        ring[at] = value;
        _sum[slot] += value;
        _sumOfSquares[slot] += value * value;
        _count[slot] = ++count;
        if (at == _window - 1) Recompute(slot, ring);
        return score;
    }

    private void Recompute(int slot, ReadOnlySpan<double> ring)
    {
        double sum = 0, squares = 0;
        foreach (var x in ring)
        {
            sum += x;
            squares += x * x;
        }
        _sum[slot] = sum;
        _sumOfSquares[slot] = squares;
    }
}
