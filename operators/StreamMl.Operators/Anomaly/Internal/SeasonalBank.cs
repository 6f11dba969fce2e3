namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>The seasonal detector's state for many keys (see <see cref="SeasonalDetectorOptions"/> for the method).
/// Per key: level, smoothed residual, its usual size, first event time, hold end, and one float offset per seasonal
/// slot (NaN until the slot is first seen) — 48 × 7 slots by default, 1.3 KiB a key.</summary>
internal sealed class SeasonalBank : DetectorBank
{
    private const long MicrosPerDay = 86_400_000_000;
    // While warming up the usual size is learnt quickly (a plain running estimate would be dominated by the first
    // few residuals, a slow EWMA would not reach the data's scale within the warm-up).
    private const double WarmupScaleRate = 0.05;

    private readonly SeasonalDetectorOptions _options;
    private readonly long _periodMicros;
    private readonly long _warmupMicros;
    private readonly long _holdMicros;
    private readonly int _profileSlots;
    private double[] _level = [];
    private double[] _smoothed = [];
    private double[] _scale = [];
    private long[] _firstTime = [];
    private long[] _holdUntil = [];
    private long[] _samples = [];
    private float[] _offsets = [];
    private int _capacity;

    public SeasonalBank(SeasonalDetectorOptions options)
    {
        options.Validate();
        _options = options;
        _periodMicros = options.Period.Ticks / TimeSpan.TicksPerMicrosecond;
        _warmupMicros = options.Warmup.Ticks / TimeSpan.TicksPerMicrosecond;
        _holdMicros = options.Hold.Ticks / TimeSpan.TicksPerMicrosecond;
        _profileSlots = options.Slots * (options.Weekly ? 7 : 1);
    }

    public override int Capacity => _capacity;

    public override double Threshold => _options.Threshold;

    /// <summary>Seasonal slots per key.</summary>
    public int ProfileSlots => _profileSlots;

    public override void EnsureCapacity(int slots)
    {
        if (slots <= _capacity) return;
        var grown = Grown(_capacity, slots);
        _level = Resize(_level, grown);
        _smoothed = Resize(_smoothed, grown);
        _scale = Resize(_scale, grown);
        _firstTime = Resize(_firstTime, grown);
        _holdUntil = Resize(_holdUntil, grown);
        _samples = Resize(_samples, grown);
        var offsets = Resize(_offsets, grown * _profileSlots);
        offsets.AsSpan(_capacity * _profileSlots).Fill(float.NaN);
        _offsets = offsets;
        for (var slot = _capacity; slot < grown; slot++) _holdUntil[slot] = long.MinValue;
        _capacity = grown;
    }

    public override void Reset(int slot)
    {
        _level[slot] = 0;
        _smoothed[slot] = 0;
        _scale[slot] = 0;
        _firstTime[slot] = 0;
        _holdUntil[slot] = long.MinValue;
        _samples[slot] = 0;
        _offsets.AsSpan(slot * _profileSlots, _profileSlots).Fill(float.NaN);
    }

    /// <summary>The seasonal slot of <paramref name="eventTime"/>: its phase in the period, and with weekly profiles
    /// its UTC day of week (Monday first).</summary>
    public int ProfileSlotOf(long eventTime)
    {
        var phase = eventTime % _periodMicros;
        if (phase < 0) phase += _periodMicros;
        var slot = (int)(phase * _options.Slots / _periodMicros);
        if (!_options.Weekly) return slot;
        var day = Math.DivRem(eventTime, MicrosPerDay, out var remainder);
        if (remainder < 0) day--;
        var dayOfWeek = (int)((day + 3) % 7); // 1970-01-01 was a Thursday (3 with Monday = 0)
        if (dayOfWeek < 0) dayOfWeek += 7;
        return dayOfWeek * _options.Slots + slot;
    }

    public override AnomalyScore Update(int slot, double value, long eventTime)
    {
        var options = _options;
        if (!double.IsFinite(value)) return AnomalyScore.WarmingUp(options.Threshold) with { Statistic = double.NaN };
        if (_samples[slot]++ == 0)
        {
            _level[slot] = value;
            _firstTime[slot] = eventTime;
            return AnomalyScore.WarmingUp(options.Threshold);
        }

        ref var offset = ref _offsets[slot * _profileSlots + ProfileSlotOf(eventTime)];
        var seen = !float.IsNaN(offset);
        var level = _level[slot];
        var residual = value - (level + (seen ? offset : 0));
        var smoothed = _smoothed[slot] += options.Smoothing * (residual - _smoothed[slot]);
        var scale = _scale[slot];
        var size = Math.Abs(smoothed);
        var statistic = scale > 0 ? size / scale : 0;
        var warm = eventTime - _firstTime[slot] >= _warmupMicros && scale > 0;
        var holding = eventTime < _holdUntil[slot];

        AnomalyScore score;
        var learnt = residual;
        var levelRate = options.LevelRate;
        if (warm && !holding)
        {
            score = AnomalyScore.Grade(statistic, options.Threshold, options.WarningFraction);
            if (score.IsAnomaly) _holdUntil[slot] = eventTime + _holdMicros;
            // Anomalous values teach the baseline only as much as a value at the clip limit would.
            var limit = options.Clip * scale;
            learnt = Math.Clamp(residual, -limit, limit);
            _scale[slot] = scale + options.ScaleRate * (Math.Min(size, limit) - scale);
        }
        else if (holding)
        {
            score = new AnomalyScore(statistic, options.Threshold,
                statistic >= options.Threshold * options.WarningFraction ? AnomalySeverity.Warning : AnomalySeverity.None);
            levelRate = options.HoldLevelRate;
        }
        else
        {
            score = AnomalyScore.WarmingUp(options.Threshold);
            _scale[slot] = scale > 0 ? scale + WarmupScaleRate * (size - scale) : size;
        }

        level += levelRate * learnt;
        _level[slot] = level;
        offset = seen ? (float)(offset + options.SeasonRate * (1 - levelRate) * learnt) : (float)(value - level);
        return score;
    }
}
