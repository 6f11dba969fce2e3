using StreamMl.Operators.Anomaly;

namespace StreamMl.Operators.Tests.Anomaly;

/// <summary>Plain implementations of the detectors, written from their descriptions with no attention to speed: one
/// object per key, dictionaries, DateTime arithmetic, lists recomputed from scratch. The tests feed the same stream to
/// these and to the flat-array banks.</summary>
internal static class ReferenceDetectors
{
    public static DateTime ToDateTime(long micros) => DateTime.UnixEpoch.AddTicks(micros * 10);

    /// <summary>Seasonal baseline: level + offset[(day of week, slot of day)], EWMA residual over its usual size.</summary>
    public sealed class Seasonal(SeasonalDetectorOptions o)
    {
        private readonly Dictionary<(int Day, int Slot), float> _offsets = [];
        private double _level, _smoothed, _scale;
        private DateTime _first, _holdUntil = DateTime.MinValue;
        private long _n;

        public (double Statistic, AnomalySeverity Severity) Update(double value, long micros)
        {
            var time = ToDateTime(micros);
            if (_n++ == 0)
            {
                _level = value;
                _first = time;
                return (double.NaN, AnomalySeverity.None);
            }
            var slot = (int)Math.Floor(time.TimeOfDay.TotalMicroseconds / (o.Period.TotalMicroseconds / o.Slots));
            var day = o.Weekly ? ((int)time.DayOfWeek + 6) % 7 : 0;
            var seen = _offsets.TryGetValue((day, slot), out var offset);
            var residual = value - (_level + (seen ? offset : 0));
            _smoothed = _smoothed + o.Smoothing * (residual - _smoothed);
            var statistic = _scale > 0 ? Math.Abs(_smoothed) / _scale : 0;
            var warm = time - _first >= o.Warmup && _scale > 0;
            var holding = time < _holdUntil;
            var learnt = residual;
            var rate = o.LevelRate;
            (double, AnomalySeverity) result;
            if (warm && !holding)
            {
                var severity = statistic >= o.Threshold ? AnomalySeverity.Critical
                    : statistic >= o.Threshold * o.WarningFraction ? AnomalySeverity.Warning : AnomalySeverity.None;
                if (severity == AnomalySeverity.Critical) _holdUntil = time + o.Hold;
                result = (statistic, severity);
                learnt = Math.Min(Math.Max(residual, -o.Clip * _scale), o.Clip * _scale);
                _scale += o.ScaleRate * (Math.Min(Math.Abs(_smoothed), o.Clip * _scale) - _scale);
            }
            else if (holding)
            {
                result = (statistic, statistic >= o.Threshold * o.WarningFraction ? AnomalySeverity.Warning : AnomalySeverity.None);
                rate = o.HoldLevelRate;
            }
            else
            {
                result = (double.NaN, AnomalySeverity.None);
                _scale = _scale > 0 ? _scale + 0.05 * (Math.Abs(_smoothed) - _scale) : Math.Abs(_smoothed);
            }
            _level += rate * learnt;
            _offsets[(day, slot)] = seen ? (float)(offset + o.SeasonRate * (1 - rate) * learnt) : (float)(value - _level);
            return result;
        }
    }

    /// <summary>Four one-sided CUSUMs on clipped robust z-scores against an EWMA baseline.</summary>
    public sealed class Cusum(CusumDetectorOptions o)
    {
        private readonly List<double> _warmup = [];
        private double _mean, _mad, _up, _down, _vUp, _vDown;
        private bool _testing;

        public (double Statistic, AnomalySeverity Severity) Update(double value)
        {
            if (!_testing)
            {
                _warmup.Add(value);
                if (_warmup.Count < o.Warmup) return (double.NaN, AnomalySeverity.None);
                // Running mean and the mean |residual| against the mean of the values before each one.
                double mean = _warmup[0], mad = 0;
                for (var i = 1; i < _warmup.Count; i++)
                {
                    var r = _warmup[i] - mean;
                    mean += r / (i + 1);
                    mad += (Math.Abs(r) - mad) / i;
                }
                (_mean, _mad, _testing) = (mean, mad, true);
                return (double.NaN, AnomalySeverity.None);
            }
            var sigma = Math.Sqrt(Math.PI / 2) * _mad;
            var residual = value - _mean;
            var z = sigma > 0 ? Math.Min(Math.Max(residual / sigma, -o.Clip), o.Clip) : Math.Sign(residual) * o.Clip;
            var spread = Math.Sqrt(Math.PI / 2) * Math.Abs(z) - 1;
            _up = Math.Max(0, _up + z - o.Drift);
            _down = Math.Max(0, _down - z - o.Drift);
            _vUp = Math.Max(0, _vUp + spread - o.VarianceDrift);
            _vDown = Math.Max(0, _vDown - spread - o.VarianceDrift / 2);
            var statistic = new[] { _up, _down, _vUp, _vDown }.Max();
            if (statistic >= o.Threshold)
            {
                _up = _down = _vUp = _vDown = 0;
                _testing = false;
                _warmup.Clear();
                _warmup.Add(value);
                return (statistic, AnomalySeverity.Critical);
            }
            _mean += o.BaselineRate * (sigma > 0 ? z * sigma : 0);
            _mad += o.ScaleRate * (Math.Abs(sigma > 0 ? z * sigma : 0) - _mad);
            return (statistic, statistic >= o.Threshold * o.WarningFraction ? AnomalySeverity.Warning : AnomalySeverity.None);
        }
    }

    /// <summary>Mean and population standard deviation of the previous <c>window</c> values, recomputed each time.</summary>
    public sealed class ZScore(ZScoreDetectorOptions o)
    {
        private readonly Queue<double> _window = new();

        public double Update(double value)
        {
            var statistic = double.NaN;
            if (_window.Count == o.Window)
            {
                var mean = _window.Average();
                var sd = Math.Sqrt(_window.Sum(x => (x - mean) * (x - mean)) / o.Window);
                statistic = sd > 0 ? Math.Abs(value - mean) / sd : value == mean ? 0 : double.PositiveInfinity;
                _window.Dequeue();
            }
            _window.Enqueue(value);
            return statistic;
        }
    }
}
