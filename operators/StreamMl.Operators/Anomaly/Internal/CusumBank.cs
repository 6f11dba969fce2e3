namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>The CUSUM detector's state for many keys (see <see cref="CusumDetectorOptions"/> for the method).</summary>
internal sealed class CusumBank(CusumDetectorOptions options) : DetectorBank
{
    /// <summary>√(π/2): σ over the mean absolute deviation of a normal distribution.</summary>
    internal const double SigmaPerMeanAbsolute = 1.2533141373155003;

    private double[] _mean = [];
    private double[] _meanAbsolute = [];
    private double[] _up = [];
    private double[] _down = [];
    private double[] _varianceUp = [];
    private double[] _varianceDown = [];
    private int[] _seen = [];
    private int _capacity;

    public override int Capacity => _capacity;

    public override double Threshold => options.Threshold;

    public override void EnsureCapacity(int slots)
    {
        if (slots <= _capacity) return;
        var grown = Grown(_capacity, slots);
        _mean = Resize(_mean, grown);
        _meanAbsolute = Resize(_meanAbsolute, grown);
        _up = Resize(_up, grown);
        _down = Resize(_down, grown);
        _varianceUp = Resize(_varianceUp, grown);
        _varianceDown = Resize(_varianceDown, grown);
        _seen = Resize(_seen, grown);
        _capacity = grown;
    }

    public override void Reset(int slot)
    {
        _mean[slot] = _meanAbsolute[slot] = 0;
        _up[slot] = _down[slot] = _varianceUp[slot] = _varianceDown[slot] = 0;
        _seen[slot] = 0;
    }

    public override void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores)
    {
        for (var i = 0; i < slots.Length; i++) scores[i] = Update(slots[i], values[i], eventTimes[i]);
    }

    public override AnomalyScore Update(int slot, double value, long eventTime)
    {
        if (!double.IsFinite(value)) return AnomalyScore.WarmingUp(options.Threshold) with { Statistic = double.NaN };
        var seen = ++_seen[slot];
        var mean = _mean[slot];
        if (seen == 1)
        {
            _mean[slot] = value;
            _meanAbsolute[slot] = 0;
            return AnomalyScore.WarmingUp(options.Threshold);
        }
        var residual = value - mean;
        if (seen <= options.Warmup)
        {
            // Learn from the plain running mean first: an EWMA started at the first value would lag for ~1/rate values.
            var n = seen;
            _mean[slot] = mean + residual / n;
            _meanAbsolute[slot] += (Math.Abs(residual) - _meanAbsolute[slot]) / (n - 1);
            return AnomalyScore.WarmingUp(options.Threshold);
        }

        var sigma = SigmaPerMeanAbsolute * _meanAbsolute[slot];
        var z = sigma > 0 ? Math.Clamp(residual / sigma, -options.Clip, options.Clip) : Math.Sign(residual) * options.Clip;
        var spread = SigmaPerMeanAbsolute * Math.Abs(z) - 1;
        var up = _up[slot] = Math.Max(0, _up[slot] + z - options.Drift);
        var down = _down[slot] = Math.Max(0, _down[slot] - z - options.Drift);
        var varianceUp = _varianceUp[slot] = Math.Max(0, _varianceUp[slot] + spread - options.VarianceDrift);
        var varianceDown = _varianceDown[slot] = Math.Max(0, _varianceDown[slot] - spread - options.VarianceDrift);
        var statistic = Math.Max(Math.Max(up, down), Math.Max(varianceUp, varianceDown));
        var score = AnomalyScore.Grade(statistic, options.Threshold, options.WarningFraction);
        if (score.IsAnomaly)
        {
            // The stream has moved: restart from this value so the new regime becomes the baseline.
            _up[slot] = _down[slot] = _varianceUp[slot] = _varianceDown[slot] = 0;
            _seen[slot] = 1;
            _mean[slot] = value;
            _meanAbsolute[slot] = 0;
            return score;
        }
        var clipped = sigma > 0 ? z * sigma : 0; // outliers teach the baseline only as much as a value at the clip limit
        _mean[slot] = mean + options.BaselineRate * clipped;
        _meanAbsolute[slot] += options.ScaleRate * (Math.Abs(clipped) - _meanAbsolute[slot]);
        return score;
    }
}
