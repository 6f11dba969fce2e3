using System.Text.Json.Serialization;

namespace StreamMl.Operators.Drift;

/// <summary>What a concept-drift detector concluded after a value.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DetectorSignal>))]
public enum DetectorSignal
{
    /// <summary>Nothing unusual.</summary>
    None,
    /// <summary>The stream looks like it is changing (DDM only).</summary>
    Warning,
    /// <summary>A change was detected; the detector has adapted (ADWIN shrank its window, the others reset).</summary>
    Drift,
}

/// <summary>A concept-drift detector over a scalar stream, such as a model's error or score. Updates never allocate.
/// Not thread-safe: one stream, one thread.</summary>
public interface IDriftDetector
{
    /// <summary>Short name for reports ("adwin", "page-hinkley", "ddm").</summary>
    string Name { get; }

    /// <summary>Feeds one value; returns what the detector concluded.</summary>
    DetectorSignal Update(double value);

    /// <summary>Values fed since creation.</summary>
    long Samples { get; }

    /// <summary>Drifts signalled since creation.</summary>
    long Detections { get; }

    /// <summary>The detector's current estimate of the stream's mean (ADWIN: over its window; DDM: the error rate).</summary>
    double Estimate { get; }

    /// <summary>Forgets everything except the counters.</summary>
    void Reset();
}

/// <summary>ADWIN (Bifet and Gavaldà, "Learning from time-changing data with adaptive windowing", SDM 2007): keeps
/// a window of recent values compressed into an exponential histogram and drops its oldest part whenever two
/// sub-windows have means that differ by more than a Hoeffding-style bound for confidence δ. Memory is
/// O(M·log W) buckets, allocated once.</summary>
public sealed class Adwin : IDriftDetector
{
    private const int Levels = 48; // 2^48 values fit; more than any stream will feed before a drift.
    private readonly int _maxBuckets;
    private readonly int _rowWidth;
    private readonly double[] _totals;
    private readonly double[] _variances;
    private readonly int[] _rowCounts = new int[Levels];
    private readonly double _delta;
    private readonly int _clock;
    private readonly int _minSubWindow;
    private int _levelsInUse;
    private long _width;
    private double _total;
    private double _variance; // sum of squared deviations over the window
    private long _sinceCheck;

    /// <summary>Creates the detector.</summary>
    /// <param name="delta">Confidence: the chance of a false alarm per check is bounded by about δ. Default 0.002.</param>
    /// <param name="clock">Check for a cut every this many values (cuts cost O(M·log W)). Default 32.</param>
    /// <param name="maxBuckets">Buckets per histogram level (M); more is finer and slower. Default 5.</param>
    /// <param name="minSubWindow">Fewest values on either side of a cut. Default 5.</param>
    public Adwin(double delta = 0.002, int clock = 32, int maxBuckets = 5, int minSubWindow = 5)
    {
        if (delta is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(delta), "delta must be in (0, 1)");
        ArgumentOutOfRangeException.ThrowIfLessThan(clock, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBuckets, 2);
        _delta = delta;
        _clock = clock;
        _maxBuckets = maxBuckets;
        _minSubWindow = Math.Max(1, minSubWindow);
        _rowWidth = maxBuckets + 1;
        _totals = new double[Levels * _rowWidth];
        _variances = new double[Levels * _rowWidth];
    }

    /// <inheritdoc/>
    public string Name => "adwin";

    /// <inheritdoc/>
    public long Samples { get; private set; }

    /// <inheritdoc/>
    public long Detections { get; private set; }

    /// <summary>Values in the current window.</summary>
    public long Width => _width;

    /// <inheritdoc/>
    public double Estimate => _width == 0 ? double.NaN : _total / _width;

    /// <summary>Variance of the values in the window.</summary>
    public double Variance => _width == 0 ? double.NaN : _variance / _width;

    /// <inheritdoc/>
    public DetectorSignal Update(double value)
    {
        Samples++;
        Insert(value);
        if (++_sinceCheck < _clock) return DetectorSignal.None;
        _sinceCheck = 0;
        if (!Cut()) return DetectorSignal.None;
        Detections++;
        return DetectorSignal.Drift;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_rowCounts);
        _levelsInUse = 0;
        _width = 0;
        _total = 0;
        _variance = 0;
        _sinceCheck = 0;
    }

    private void Insert(double value)
    {
        if (_width > 0)
        {
            var mean = _total / _width;
            _variance += (double)_width / (_width + 1) * (value - mean) * (value - mean);
        }
        _width++;
        _total += value;
        Append(0, value, 0);
        for (var level = 0; _rowCounts[level] > _maxBuckets; level++)
        {
            // Two oldest buckets of 2^level values each become one bucket of the next level.
            var row = level * _rowWidth;
            var size = (double)(1L << level);
            var t1 = _totals[row];
            var t2 = _totals[row + 1];
            var diff = t1 / size - t2 / size;
            var merged = _variances[row] + _variances[row + 1] + size * size * diff * diff / (2 * size);
            Array.Copy(_totals, row + 2, _totals, row, _rowCounts[level] - 2);
            Array.Copy(_variances, row + 2, _variances, row, _rowCounts[level] - 2);
            _rowCounts[level] -= 2;
            Append(level + 1, t1 + t2, merged);
        }
    }

    private void Append(int level, double total, double variance)
    {
        var at = level * _rowWidth + _rowCounts[level]++;
        _totals[at] = total;
        _variances[at] = variance;
        if (level >= _levelsInUse) _levelsInUse = level + 1;
    }

    /// <summary>Drops the oldest buckets while some split of the window has sub-window means that differ
    /// significantly; returns true when anything was dropped.</summary>
    private bool Cut()
    {
        var dropped = false;
        bool again;
        do
        {
            again = false;
            if (_width < 2 * _minSubWindow) break;
            var logTerm = Math.Log(2 * Math.Log(_width) / _delta);
            var windowVariance = _variance / _width;
            long n0 = 0;
            var u0 = 0.0;
            // Oldest first: highest level, then bucket order within the level.
            for (var level = _levelsInUse - 1; level >= 0 && !again; level--)
            {
                var size = 1L << level;
                var row = level * _rowWidth;
                for (var b = 0; b < _rowCounts[level]; b++)
                {
                    n0 += size;
                    u0 += _totals[row + b];
                    var n1 = _width - n0;
                    if (n1 < _minSubWindow) break;
                    if (n0 < _minSubWindow) continue;
                    var u1 = _total - u0;
                    var m = 1.0 / (1.0 / n0 + 1.0 / n1);
                    var epsilon = Math.Sqrt(2 / m * windowVariance * logTerm) + 2.0 / (3 * m) * logTerm;
                    if (Math.Abs(u0 / n0 - u1 / n1) > epsilon)
                    {
                        DropOldest();
                        dropped = again = true;
                        break;
                    }
                }
            }
        }
        while (again);
        return dropped;
    }

    private void DropOldest()
    {
        var level = _levelsInUse - 1;
        var row = level * _rowWidth;
        var size = 1L << level;
        var bucketTotal = _totals[row];
        var bucketVariance = _variances[row];
        Array.Copy(_totals, row + 1, _totals, row, _rowCounts[level] - 1);
        Array.Copy(_variances, row + 1, _variances, row, _rowCounts[level] - 1);
        if (--_rowCounts[level] == 0)
            while (_levelsInUse > 0 && _rowCounts[_levelsInUse - 1] == 0) _levelsInUse--;

        var rest = _width - size;
        if (rest == 0)
        {
            _width = 0;
            _total = 0;
            _variance = 0;
            return;
        }
        var restMean = (_total - bucketTotal) / rest;
        var bucketMean = bucketTotal / size;
        _variance -= bucketVariance + (double)size * rest / _width * (bucketMean - restMean) * (bucketMean - restMean);
        if (_variance < 0) _variance = 0;
        _width = rest;
        _total -= bucketTotal;
    }
}

/// <summary>Which way of change a <see cref="PageHinkley"/> test watches.</summary>
public enum ChangeDirection
{
    /// <summary>Increases of the mean (an error rate going up).</summary>
    Up,
    /// <summary>Decreases of the mean.</summary>
    Down,
    /// <summary>Both.</summary>
    Both,
}

/// <summary>The Page–Hinkley test (Page 1954; Hinkley 1971): accumulates deviations of each value from the running
/// mean, less a tolerated magnitude δ, and signals when the accumulation rises more than λ above its minimum
/// (or falls below its maximum for decreases). Resets after a detection.</summary>
public sealed class PageHinkley : IDriftDetector
{
    private readonly double _delta;
    private readonly double _lambda;
    private readonly double _alpha;
    private readonly int _minInstances;
    private readonly ChangeDirection _direction;
    private long _n;
    private double _mean;
    private double _upSum;
    private double _upMin;
    private double _downSum;
    private double _downMax;

    /// <summary>Creates the test.</summary>
    /// <param name="delta">Magnitude of change tolerated without alarm. Default 0.005.</param>
    /// <param name="lambda">Alarm threshold on the accumulated deviation. Default 50.</param>
    /// <param name="alpha">Fading factor of the accumulation (1 keeps everything). Default 0.9999.</param>
    /// <param name="minInstances">Values before any alarm. Default 30.</param>
    /// <param name="direction">Which changes to detect. Default both.</param>
    public PageHinkley(double delta = 0.005, double lambda = 50, double alpha = 0.9999, int minInstances = 30,
        ChangeDirection direction = ChangeDirection.Both)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delta);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lambda);
        if (alpha is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must be in (0, 1]");
        _delta = delta;
        _lambda = lambda;
        _alpha = alpha;
        _minInstances = minInstances;
        _direction = direction;
    }

    /// <inheritdoc/>
    public string Name => "page-hinkley";

    /// <inheritdoc/>
    public long Samples { get; private set; }

    /// <inheritdoc/>
    public long Detections { get; private set; }

    /// <inheritdoc/>
    public double Estimate => _n == 0 ? double.NaN : _mean;

    /// <inheritdoc/>
    public DetectorSignal Update(double value)
    {
        Samples++;
        _n++;
        _mean += (value - _mean) / _n;
        _upSum = _alpha * _upSum + (value - _mean - _delta);
        _downSum = _alpha * _downSum + (value - _mean + _delta);
        _upMin = Math.Min(_upMin, _upSum);
        _downMax = Math.Max(_downMax, _downSum);
        if (_n < _minInstances) return DetectorSignal.None;
        var up = _direction != ChangeDirection.Down && _upSum - _upMin > _lambda;
        var down = _direction != ChangeDirection.Up && _downMax - _downSum > _lambda;
        if (!up && !down) return DetectorSignal.None;
        Detections++;
        Reset();
        return DetectorSignal.Drift;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _n = 0;
        _mean = 0;
        _upSum = _upMin = 0;
        _downSum = _downMax = 0;
    }
}

/// <summary>The Drift Detection Method (Gama, Medas, Castillo and Rodrigues, SBIA 2004) over a stream of
/// prediction errors (1 = wrong, 0 = right; other values count as wrong when at least 0.5). It tracks the error rate
/// p and its standard deviation s, remembers the minimum of p + s, and signals a warning at p + s ≥ p_min + 2·s_min
/// and a drift at p_min + 3·s_min, after which it resets.</summary>
public sealed class Ddm : IDriftDetector
{
    private readonly int _minInstances;
    private readonly double _warningLevel;
    private readonly double _driftLevel;
    private long _n;
    private long _errors;
    private double _pMin;
    private double _sMin;
    private double _psMin;

    /// <summary>Creates the detector.</summary>
    /// <param name="minInstances">Values before any signal. Default 30.</param>
    /// <param name="warningLevel">Standard deviations for a warning. Default 2.</param>
    /// <param name="driftLevel">Standard deviations for a drift. Default 3.</param>
    public Ddm(int minInstances = 30, double warningLevel = 2, double driftLevel = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minInstances, 1);
        if (driftLevel < warningLevel) throw new ArgumentOutOfRangeException(nameof(driftLevel), "driftLevel must be at least warningLevel");
        _minInstances = minInstances;
        _warningLevel = warningLevel;
        _driftLevel = driftLevel;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "ddm";

    /// <inheritdoc/>
    public long Samples { get; private set; }

    /// <inheritdoc/>
    public long Detections { get; private set; }

    /// <inheritdoc/>
    public double Estimate => _n == 0 ? double.NaN : (double)_errors / _n;

    /// <summary>True while the last signal was a warning.</summary>
    public bool InWarning { get; private set; }

    /// <inheritdoc/>
    public DetectorSignal Update(double value)
    {
        Samples++;
        _n++;
        if (value >= 0.5) _errors++;
        var p = (double)_errors / _n;
        var s = Math.Sqrt(p * (1 - p) / _n);
        InWarning = false;
        if (_n < _minInstances) return DetectorSignal.None;
        // A rate of exactly 0 or 1 has s = 0, and a minimum taken there would turn the next error into a drift.
        if (s > 0 && p + s < _psMin)
        {
            _pMin = p;
            _sMin = s;
            _psMin = p + s;
        }
        if (_psMin == double.MaxValue) return DetectorSignal.None;
        if (p + s >= _pMin + _driftLevel * _sMin)
        {
            Detections++;
            Reset();
            return DetectorSignal.Drift;
        }
        if (p + s >= _pMin + _warningLevel * _sMin)
        {
            InWarning = true;
            return DetectorSignal.Warning;
        }
        return DetectorSignal.None;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _n = 0;
        _errors = 0;
        _pMin = double.MaxValue;
        _sMin = double.MaxValue;
        _psMin = double.MaxValue;
        InWarning = false;
    }
}
