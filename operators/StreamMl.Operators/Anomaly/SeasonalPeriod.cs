namespace StreamMl.Operators.Anomaly;

/// <summary>A season length found in a series: <see cref="Lag"/> points, which at the series' spacing is <see cref="Period"/>.</summary>
/// <param name="Lag">The season in points.</param>
/// <param name="Period">The season in time (lag × spacing).</param>
/// <param name="Autocorrelation">The sample autocorrelation at that lag (−1 to 1).</param>
public readonly record struct DetectedPeriod(int Lag, TimeSpan Period, double Autocorrelation);

/// <summary>Finds the season length of a regularly spaced series from its sample autocorrelation function (ACF), for
/// the seasonal detector's <c>period: auto</c>: r(k) = Σ (x_t − x̄)(x_{t+k} − x̄) / Σ (x_t − x̄)² for k up to half the
/// points; the season is the first local maximum of r after r first drops below zero (so the slow decay of a trend or
/// of neighbouring points does not count) whose value is at least <c>minAutocorrelation</c>. That is the fundamental
/// cycle: a daily cycle with a weekly pattern on top is found as one day (which the seasonal detector then splits per
/// weekday), not one week. O(points × lags); meant for a warm-up sample (a few thousand points), not per row.</summary>
public static class SeasonalPeriod
{
    /// <summary>The season of <paramref name="values"/> (points <paramref name="spacing"/> apart), or null when the ACF
    /// has no peak of at least <paramref name="minAutocorrelation"/> between lag 2 and half the points.</summary>
    public static DetectedPeriod? Detect(ReadOnlySpan<double> values, TimeSpan spacing, double minAutocorrelation = 0.3)
    {
        if (spacing <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(spacing), "the spacing of the points must be positive");
        var n = values.Length;
        var maxLag = n / 2;
        if (maxLag < 3) return null;
        var mean = 0.0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) throw new ArgumentException("the series must hold finite values only", nameof(values));
            mean += v;
        }
        mean /= n;
        var centred = new double[n];
        var denominator = 0.0;
        for (var t = 0; t < n; t++)
        {
            centred[t] = values[t] - mean;
            denominator += centred[t] * centred[t];
        }
        if (denominator == 0) return null;
        var acf = new double[maxLag + 2];
        for (var k = 0; k <= maxLag + 1 && k < n; k++)
            acf[k] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(centred.AsSpan(0, n - k), centred.AsSpan(k)) / denominator;

        var crossed = false;
        for (var k = 1; k <= maxLag; k++)
        {
            if (acf[k] < 0) crossed = true;
            if (!crossed || k < 2 || acf[k] < minAutocorrelation) continue;
            if (acf[k] >= acf[k - 1] && acf[k] >= acf[k + 1])
                return new DetectedPeriod(k, TimeSpan.FromTicks(spacing.Ticks * k), acf[k]);
        }
        return null;
    }

    /// <summary>The median gap between consecutive event times (microseconds), the spacing for <see cref="Detect"/>.</summary>
    public static TimeSpan MedianSpacing(ReadOnlySpan<long> eventTimes)
    {
        if (eventTimes.Length < 2) throw new ArgumentException("at least two event times are needed", nameof(eventTimes));
        var gaps = new long[eventTimes.Length - 1];
        for (var i = 1; i < eventTimes.Length; i++) gaps[i - 1] = eventTimes[i] - eventTimes[i - 1];
        Array.Sort(gaps);
        return TimeSpan.FromTicks(gaps[gaps.Length / 2] * TimeSpan.TicksPerMicrosecond);
    }
}
