namespace StreamMl.Operators.Metrics;

/// <summary>Running binary-classification metrics over (probability, label) pairs: confusion matrix at a threshold,
/// accuracy, precision, recall, F1, log loss, and ROC AUC from score histograms. Adding a pair never allocates.</summary>
public sealed class ClassificationMetrics
{
    private const double Epsilon = 1e-15;
    private readonly long[] _positives;
    private readonly long[] _negatives;
    private double _logLossSum;

    /// <summary>Creates the accumulator.</summary>
    /// <param name="threshold">Probability at or above which a prediction counts as positive. Default 0.5.</param>
    /// <param name="aucBins">Histogram bins over [0, 1] for ROC AUC. Default 1000: the AUC is exact except for
    /// positive–negative pairs whose scores share a bin, each of which counts one half.</param>
    public ClassificationMetrics(double threshold = 0.5, int aucBins = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(aucBins, 1);
        Threshold = threshold;
        _positives = new long[aucBins];
        _negatives = new long[aucBins];
    }

    /// <summary>Decision threshold.</summary>
    public double Threshold { get; }

    /// <summary>Pairs added.</summary>
    public long Count => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    /// <summary>Positive label, predicted positive.</summary>
    public long TruePositives { get; private set; }

    /// <summary>Negative label, predicted positive.</summary>
    public long FalsePositives { get; private set; }

    /// <summary>Negative label, predicted negative.</summary>
    public long TrueNegatives { get; private set; }

    /// <summary>Positive label, predicted negative.</summary>
    public long FalseNegatives { get; private set; }

    /// <summary>Share of correct predictions; NaN when empty.</summary>
    public double Accuracy => Ratio(TruePositives + TrueNegatives, Count);

    /// <summary>TP / (TP + FP); NaN when nothing was predicted positive.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN); NaN when there was no positive label.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>Harmonic mean of precision and recall: 2TP / (2TP + FP + FN); NaN when undefined.</summary>
    public double F1 => Ratio(2 * TruePositives, 2 * TruePositives + FalsePositives + FalseNegatives);

    /// <summary>Mean binary cross-entropy in nats, probabilities clipped to [1e−15, 1 − 1e−15]; NaN when empty.</summary>
    public double LogLoss => Count == 0 ? double.NaN : _logLossSum / Count;

    /// <summary>Area under the ROC curve from the score histograms: the share of positive–negative pairs ranked
    /// correctly, pairs in the same bin counting one half. NaN without both classes.</summary>
    public double RocAuc
    {
        get
        {
            double positives = TruePositives + FalseNegatives, negatives = FalsePositives + TrueNegatives;
            if (positives == 0 || negatives == 0) return double.NaN;
            double below = 0, pairs = 0;
            for (var b = 0; b < _positives.Length; b++)
            {
                pairs += _positives[b] * (below + 0.5 * _negatives[b]);
                below += _negatives[b];
            }
            return pairs / (positives * negatives);
        }
    }

    /// <summary>Most the binned <see cref="RocAuc"/> can differ from the exact one: half the share of
    /// positive–negative pairs that share a bin.</summary>
    public double RocAucErrorBound
    {
        get
        {
            double positives = TruePositives + FalseNegatives, negatives = FalsePositives + TrueNegatives;
            if (positives == 0 || negatives == 0) return double.NaN;
            double tied = 0;
            for (var b = 0; b < _positives.Length; b++) tied += (double)_positives[b] * _negatives[b];
            return 0.5 * tied / (positives * negatives);
        }
    }

    /// <summary>Adds one prediction: <paramref name="probability"/> of the positive class and the true label.</summary>
    public void Add(double probability, bool label)
    {
        var predicted = probability >= Threshold;
        if (label)
        {
            if (predicted) TruePositives++; else FalseNegatives++;
        }
        else if (predicted) FalsePositives++;
        else TrueNegatives++;
        var p = Math.Clamp(probability, Epsilon, 1 - Epsilon);
        _logLossSum -= label ? Math.Log(p) : Math.Log(1 - p);
        var bin = (int)(Math.Clamp(probability, 0, 1) * _positives.Length);
        if (bin == _positives.Length) bin--;
        if (label) _positives[bin]++; else _negatives[bin]++;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        TruePositives = FalsePositives = TrueNegatives = FalseNegatives = 0;
        _logLossSum = 0;
        Array.Clear(_positives);
        Array.Clear(_negatives);
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? double.NaN : (double)numerator / denominator;
}

/// <summary>Running regression metrics over (prediction, label) pairs: RMSE, MAE, mean error and R². R² uses the
/// labels' own Welford variance, so it is stable for large label offsets. Adding a pair never allocates.</summary>
public sealed class RegressionMetrics
{
    private Drift.RunningMoments _labels;
    private double _squaredError;
    private double _absoluteError;
    private double _error;

    /// <summary>Pairs added.</summary>
    public long Count => _labels.Count;

    /// <summary>Root mean squared error; NaN when empty.</summary>
    public double Rmse => Count == 0 ? double.NaN : Math.Sqrt(_squaredError / Count);

    /// <summary>Mean absolute error; NaN when empty.</summary>
    public double Mae => Count == 0 ? double.NaN : _absoluteError / Count;

    /// <summary>Mean of prediction − label (bias); NaN when empty.</summary>
    public double MeanError => Count == 0 ? double.NaN : _error / Count;

    /// <summary>Coefficient of determination 1 − SSE / SST; NaN when the labels have no variance.</summary>
    public double R2 => _labels.SumSquaredDeviations > 0 ? 1 - _squaredError / _labels.SumSquaredDeviations : double.NaN;

    /// <summary>Adds one prediction and its true value.</summary>
    public void Add(double prediction, double label)
    {
        var e = prediction - label;
        _squaredError += e * e;
        _absoluteError += Math.Abs(e);
        _error += e;
        _labels.Add(label);
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        _labels.Clear();
        _squaredError = _absoluteError = _error = 0;
    }
}
