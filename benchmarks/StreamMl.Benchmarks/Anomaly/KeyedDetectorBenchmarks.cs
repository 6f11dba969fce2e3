using BenchmarkDotNet.Attributes;
using StreamMl.Operators.Anomaly;

namespace StreamMl.Benchmarks.Anomaly;

/// <summary>Per-key anomaly detectors over 10,000 keys: one invocation feeds one value to every key (a 5-minute tick of
/// 10,000 sensors), through <see cref="KeyedDetectors.Update(ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{long}, Span{AnomalyScore})"/>.
/// The peer is the least a per-key detector can do: one EWMA per key in a flat array, same loop shape.</summary>
[MemoryDiagnoser]
public class KeyedDetectorBenchmarks
{
    private const int Keys = 10_000;
    private const long FiveMinutes = 5 * 60 * 1_000_000L;
    private readonly int[] _slots = new int[Keys];
    private readonly double[] _values = new double[Keys];
    private readonly long[] _times = new long[Keys];
    private readonly AnomalyScore[] _scores = new AnomalyScore[Keys];
    private readonly double[] _ewma = new double[Keys];
    private KeyedDetectors _seasonal = null!;
    private KeyedDetectors _cusum = null!;
    private KeyedDetectors _zscore = null!;
    private long _time = 1_700_000_000L * 1_000_000;
    private int _tick;

    [GlobalSetup]
    public void Setup()
    {
        _seasonal = AnomalyDetectors.CreateKeyed(AnomalyDetectorSettings.Default, Keys);
        _cusum = AnomalyDetectors.CreateKeyed(new AnomalyDetectorSettings(AnomalyDetectors.Cusum), Keys);
        _zscore = AnomalyDetectors.CreateKeyed(new AnomalyDetectorSettings(AnomalyDetectors.ZScore), Keys);
        for (var k = 0; k < Keys; k++)
        {
            _slots[k] = _seasonal.SlotOf((long)k);
            _cusum.SlotOf((long)k);
            _zscore.SlotOf((long)k);
        }
        // Past every warm-up (3 days of event time for the seasonal detector), so the benchmark measures steady state.
        for (var tick = 0; tick < 4 * 288; tick++)
        {
            NextTick();
            _seasonal.Update(_slots, _values, _times, _scores);
            _cusum.Update(_slots, _values, _times, _scores);
            _zscore.Update(_slots, _values, _times, _scores);
        }
    }

    private void NextTick()
    {
        _time += FiveMinutes;
        _tick++;
        for (var k = 0; k < Keys; k++)
        {
            _values[k] = 50 + 10 * Math.Sin(_tick * 0.02 + k) + ((k * 7919 + _tick * 104729) % 1000) * 0.002;
            _times[k] = _time;
        }
    }

    /// <summary>One EWMA per key in a flat array: the floor for a per-key update.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void EwmaPerKey()
    {
        _time += FiveMinutes;
        _times.AsSpan().Fill(_time);
        var values = _values;
        var ewma = _ewma;
        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            ref var state = ref ewma[slots[i]];
            state += 0.01 * (values[i] - state);
        }
    }

    /// <summary>The seasonal detector with its defaults (48 × 7 slots per key).</summary>
    [Benchmark(OperationsPerInvoke = Keys)]
    public void Seasonal()
    {
        _time += FiveMinutes;
        _times.AsSpan().Fill(_time);
        _seasonal.Update(_slots, _values, _times, _scores);
    }

    /// <summary>The level-shift and variance-change CUSUM.</summary>
    [Benchmark(OperationsPerInvoke = Keys)]
    public void Cusum()
    {
        _time += FiveMinutes;
        _times.AsSpan().Fill(_time);
        _cusum.Update(_slots, _values, _times, _scores);
    }

    /// <summary>The rolling 288-value z-score.</summary>
    [Benchmark(OperationsPerInvoke = Keys)]
    public void ZScore()
    {
        _time += FiveMinutes;
        _times.AsSpan().Fill(_time);
        _zscore.Update(_slots, _values, _times, _scores);
    }
}
