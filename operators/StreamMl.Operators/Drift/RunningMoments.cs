using System.Runtime.CompilerServices;

namespace StreamMl.Operators.Drift;

/// <summary>Count, mean, variance, minimum and maximum of a stream of numbers, updated one value at a time with
/// Welford's recurrence or a block at a time with the pairwise combination of Chan, Golub and LeVeque. Both forms
/// avoid the cancellation of the naive sum-of-squares formula, so the variance stays accurate for large offsets.</summary>
public struct RunningMoments
{
    private long _count;
    private double _mean;
    private double _m2;
    private double _min;
    private double _max;

    /// <summary>Values added.</summary>
    public readonly long Count => _count;

    /// <summary>Arithmetic mean; NaN when empty.</summary>
    public readonly double Mean => _count == 0 ? double.NaN : _mean;

    /// <summary>Sum of squared deviations from the mean.</summary>
    public readonly double SumSquaredDeviations => _m2;

    /// <summary>Population variance (divides by n); NaN when empty.</summary>
    public readonly double PopulationVariance => _count == 0 ? double.NaN : _m2 / _count;

    /// <summary>Sample variance (divides by n − 1); NaN with fewer than two values.</summary>
    public readonly double Variance => _count < 2 ? double.NaN : _m2 / (_count - 1);

    /// <summary>Sample standard deviation; NaN with fewer than two values.</summary>
    public readonly double StandardDeviation => Math.Sqrt(Variance);

    /// <summary>Smallest value; NaN when empty.</summary>
    public readonly double Min => _count == 0 ? double.NaN : _min;

    /// <summary>Largest value; NaN when empty.</summary>
    public readonly double Max => _count == 0 ? double.NaN : _max;

    /// <summary>Adds one value (Welford's update).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(double value)
    {
        if (_count == 0)
        {
            _count = 1;
            _mean = value;
            _m2 = 0;
            _min = value;
            _max = value;
            return;
        }
        _count++;
        var delta = value - _mean;
        _mean += delta / _count;
        _m2 += delta * (value - _mean);
        if (value < _min) _min = value;
        if (value > _max) _max = value;
    }

    /// <summary>Adds a block summarised by its count, mean, sum of squared deviations, minimum and maximum.</summary>
    public void Merge(long count, double mean, double m2, double min, double max)
    {
        if (count == 0) return;
        if (_count == 0)
        {
            _count = count;
            _mean = mean;
            _m2 = m2;
            _min = min;
            _max = max;
            return;
        }
        var total = _count + count;
        var delta = mean - _mean;
        // Weighting delta by the share of the new block keeps the update exact in the limit of one huge block.
        _mean += delta * ((double)count / total);
        _m2 += m2 + delta * delta * ((double)_count * count / total);
        _count = total;
        if (min < _min) _min = min;
        if (max > _max) _max = max;
    }

    /// <summary>Adds everything <paramref name="other"/> has seen.</summary>
    public void Merge(in RunningMoments other) => Merge(other._count, other._mean, other._m2, other._min, other._max);

    /// <summary>Forgets every value.</summary>
    public void Clear() => this = default;
}
