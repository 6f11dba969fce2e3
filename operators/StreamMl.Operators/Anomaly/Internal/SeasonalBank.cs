using System.Runtime.CompilerServices;

namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>The seasonal detector's state for many keys (see <see cref="SeasonalDetectorOptions"/> for the method).
/// Per key: level, smoothed residual, its usual size, first event time, hold end and sample count in one struct, and
/// one float offset per seasonal slot (NaN until the slot is first seen) — 48 × 7 slots by default, 1.3 KiB a key.</summary>
/// <remarks>Layout (KeyedDetectorBenchmarks.Seasonal, 10,000 keys): the per-key numbers sit together in one struct so
/// an update touches one cache line for them, not six arrays; offsets are slot-major (all keys' offsets for a slot are
/// adjacent), because sensors tick together: a tick of 10,000 keys then reads 40 KB of adjacent floats instead of one
/// cache line 1.3 KiB apart per key. The slot of an event time needs three 64-bit divisions, so the last slot's time
/// range is cached: rows of one tick, and most ticks of one slot, reuse it.</remarks>
internal sealed class SeasonalBank : DetectorBank
{
    private const long MicrosPerDay = 86_400_000_000;
    // While warming up the usual size is learnt quickly (a slow EWMA would not reach the data's scale within the
    // warm-up, a plain mean would be dominated by the first residuals).
    private const double WarmupScaleRate = 0.05;

    private struct KeyState
    {
        public double Level;
        public double Smoothed;
        public double Scale;
        public long FirstTime;
        public long HoldUntil;
        public long Samples;
    }

    private readonly SeasonalDetectorOptions _options;
    private readonly long _periodMicros;
    private readonly long _warmupMicros;
    private readonly long _holdMicros;
    private readonly int _profileSlots;
    private KeyState[] _keys = [];
    private float[] _offsets = []; // [profile slot * capacity + key]
    private int _capacity;
    private long _cachedSlotStart = long.MaxValue;
    private long _cachedSlotEnd = long.MinValue;
    private int _cachedSlot;

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
        var keys = new KeyState[grown];
        _keys.AsSpan().CopyTo(keys);
        for (var key = _capacity; key < grown; key++) keys[key].HoldUntil = long.MinValue;
        var offsets = new float[(long)grown * _profileSlots];
        offsets.AsSpan().Fill(float.NaN);
        for (var slot = 0; slot < _profileSlots; slot++)
            _offsets.AsSpan(slot * _capacity, _capacity).CopyTo(offsets.AsSpan(slot * grown, _capacity));
        _keys = keys;
        _offsets = offsets;
        _capacity = grown;
    }

    public override void Reset(int key)
    {
        _keys[key] = new KeyState { HoldUntil = long.MinValue };
        for (var slot = 0; slot < _profileSlots; slot++) _offsets[slot * _capacity + key] = float.NaN;
    }

    /// <summary>The seasonal slot of <paramref name="eventTime"/>: its phase in the period, and with weekly profiles
    /// its UTC day of week (Monday first).</summary>
    public int ProfileSlotOf(long eventTime)
    {
        if (eventTime >= _cachedSlotStart && eventTime < _cachedSlotEnd) return _cachedSlot;
        return ComputeProfileSlot(eventTime);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ComputeProfileSlot(long eventTime)
    {
        var slots = _options.Slots;
        var phase = eventTime % _periodMicros;
        if (phase < 0) phase += _periodMicros;
        var slot = (int)(phase * slots / _periodMicros);
        // The event times that fall in the same slot: [period start + ⌈slot·P/n⌉, period start + ⌈(slot+1)·P/n⌉).
        var periodStart = eventTime - phase;
        _cachedSlotStart = periodStart + CeilingDivide(slot * _periodMicros, slots);
        _cachedSlotEnd = periodStart + CeilingDivide((slot + 1) * _periodMicros, slots);
        if (_options.Weekly)
        {
            var day = Math.DivRem(eventTime, MicrosPerDay, out var remainder);
            if (remainder < 0) day--;
            var dayOfWeek = (int)((day + 3) % 7); // 1970-01-01 was a Thursday (3 with Monday = 0)
            if (dayOfWeek < 0) dayOfWeek += 7;
            slot += dayOfWeek * slots;
        }
        _cachedSlot = slot;
        return slot;
    }

    private static long CeilingDivide(long numerator, long denominator) => (numerator + denominator - 1) / denominator;

    public override void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores)
    {
        for (var i = 0; i < slots.Length; i++) scores[i] = Update(slots[i], values[i], eventTimes[i]);
    }

    public override AnomalyScore Update(int key, double value, long eventTime)
    {
        var options = _options;
        if (!double.IsFinite(value)) return AnomalyScore.WarmingUp(options.Threshold) with { Statistic = double.NaN };
        ref var state = ref _keys[key];
        if (state.Samples++ == 0)
        {
            state.Level = value;
            state.FirstTime = eventTime;
            return AnomalyScore.WarmingUp(options.Threshold);
        }

        ref var offset = ref _offsets[ProfileSlotOf(eventTime) * _capacity + key];
        var seen = !float.IsNaN(offset);
        var level = state.Level;
        var residual = value - (level + (seen ? offset : 0));
        var smoothed = state.Smoothed += options.Smoothing * (residual - state.Smoothed);
        var scale = state.Scale;
        var size = Math.Abs(smoothed);
        var statistic = scale > 0 ? size / scale : 0;
        var warm = eventTime - state.FirstTime >= _warmupMicros && scale > 0;
        var holding = eventTime < state.HoldUntil;

        AnomalyScore score;
        var learnt = residual;
        var levelRate = options.LevelRate;
        if (warm && !holding)
        {
            score = AnomalyScore.Grade(statistic, options.Threshold, options.WarningFraction);
            if (score.IsAnomaly) state.HoldUntil = eventTime + _holdMicros;
            // Anomalous values teach the baseline only as much as a value at the clip limit would.
            var limit = options.Clip * scale;
            learnt = Math.Clamp(residual, -limit, limit);
            state.Scale = scale + options.ScaleRate * (Math.Min(size, limit) - scale);
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
            state.Scale = scale > 0 ? scale + WarmupScaleRate * (size - scale) : size;
        }

        level += levelRate * learnt;
        state.Level = level;
        offset = seen ? (float)(offset + options.SeasonRate * (1 - levelRate) * learnt) : (float)(value - level);
        return score;
    }
}
