using StreamMl.Operators.Drift;
using StreamMl.Operators.Metrics;

namespace StreamMl.Operators.Rollouts;

/// <summary>What one model did over a stretch of a rollout: rows scored and failed, a histogram of its scores, a
/// histogram of its batch scoring latencies, and, over rows whose label is known, the label metrics and the per-row loss.
/// Everything is counts and sums in arrays sized at construction, so recording allocates nothing and two windows merge
/// by adding (a pipeline thread fills its own window and merges it into the rollout once per batch).</summary>
public sealed class RolloutWindow
{
    /// <summary>Bins of the score histogram over [<see cref="RolloutOptions.ScoreMin"/>, <see cref="RolloutOptions.ScoreMax"/>].</summary>
    public const int ScoreBins = 1000;

    /// <summary>Latency histogram: 10 bins per decade from 1 µs to 100 s (the last bin also holds anything slower).</summary>
    internal const int LatencyBinsPerDecade = 10, LatencyDecades = 8, LatencyMinExponent = -6;

    private readonly double _scoreMin;
    private readonly double _binsPerUnit;
    private readonly double _threshold;
    private readonly bool _binary;
    private readonly long[] _scores = new long[ScoreBins];
    private readonly long[] _positives = new long[ScoreBins];
    private readonly long[] _negatives = new long[ScoreBins];
    private readonly long[] _latency = new long[LatencyBinsPerDecade * LatencyDecades];
    private RunningMoments _loss;
    private double _squaredError;
    private long _truePositives, _falsePositives, _falseNegatives;
    private int _untimedLeft;

    /// <summary>An empty window for the task and score range of <paramref name="options"/>.</summary>
    public RolloutWindow(RolloutOptions options)
    {
        _scoreMin = options.ScoreMin;
        _binsPerUnit = ScoreBins / (options.ScoreMax - options.ScoreMin);
        _threshold = options.Threshold;
        _binary = options.Task == ModelTask.BinaryClassification;
        _untimedLeft = Math.Max(0, options.LatencyWarmupBatches);
    }

    /// <summary>Rows the model scored (failures included).</summary>
    public long Rows { get; private set; }

    /// <summary>Rows it failed to score (no score, or not a finite number).</summary>
    public long Errors { get; private set; }

    /// <summary>Batches whose scoring time was recorded.</summary>
    public long Batches { get; private set; }

    /// <summary>Rows with a known label.</summary>
    public long Labelled => _loss.Count;

    /// <summary>Errors / rows (0 before any row).</summary>
    public double ErrorRate => Rows == 0 ? 0 : (double)Errors / Rows;

    /// <summary>Score histogram counts (bin k holds scores in [min + k·w, min + (k+1)·w)).</summary>
    public ReadOnlySpan<long> ScoreCounts => _scores;

    /// <summary>Mean per-row loss over labelled rows (log loss for binary, squared error for regression).</summary>
    public double MeanLoss => _loss.Mean;

    /// <summary>Sample variance of the per-row loss.</summary>
    public double LossVariance => _loss.Variance;

    /// <summary>Root mean squared error over labelled rows (regression; NaN without labels).</summary>
    public double Rmse => Labelled == 0 ? double.NaN : Math.Sqrt(_squaredError / Labelled);

    /// <summary>F1 at the threshold over labelled rows (binary; NaN without positives).</summary>
    public double F1
    {
        get
        {
            var d = 2 * _truePositives + _falsePositives + _falseNegatives;
            return d == 0 ? double.NaN : 2.0 * _truePositives / d;
        }
    }

    /// <summary>Area under the ROC curve from the per-bin label counts (ties within a bin count half); NaN without both
    /// classes. Off from the exact value by at most the share of positive–negative pairs that share a bin.</summary>
    public double Auc
    {
        get
        {
            long positives = 0, negatives = 0;
            for (var k = 0; k < ScoreBins; k++) { positives += _positives[k]; negatives += _negatives[k]; }
            if (positives == 0 || negatives == 0) return double.NaN;
            double below = 0, pairs = 0;
            for (var k = 0; k < ScoreBins; k++)
            {
                pairs += _positives[k] * (below + 0.5 * _negatives[k]);
                below += _negatives[k];
            }
            return pairs / ((double)positives * negatives);
        }
    }

    /// <summary>Headline label metric: AUC (binary) or RMSE (regression).</summary>
    public double Metric => _binary ? Auc : Rmse;

    /// <summary>The 99th percentile of the batch scoring latencies, in seconds: the upper edge of the histogram bin
    /// that holds it (so within a factor 10^0.1 above the exact value); NaN before any batch.</summary>
    public double P99LatencySeconds
    {
        get
        {
            if (Batches == 0) return double.NaN;
            var rank = (long)Math.Ceiling(0.99 * Batches);
            long seen = 0;
            for (var k = 0; k < _latency.Length; k++)
            {
                seen += _latency[k];
                if (seen >= rank) return LatencyUpperEdge(k);
            }
            return LatencyUpperEdge(_latency.Length - 1);
        }
    }

    /// <summary>Records one score; NaN, infinity or <paramref name="failed"/> count as an error.</summary>
    public void AddScore(double score, bool failed = false)
    {
        Rows++;
        if (failed || !double.IsFinite(score)) { Errors++; return; }
        _scores[ScoreBin(score)]++;
    }

    /// <summary>Records the time one batch took to score with this model, once the window's first
    /// <see cref="RolloutOptions.LatencyWarmupBatches"/> batches have passed (clearing the window does not restart them).</summary>
    public void AddLatency(double seconds)
    {
        if (_untimedLeft > 0)
        {
            _untimedLeft--;
            return;
        }
        Batches++;
        _latency[LatencyBin(seconds)]++;
    }

    /// <summary>Records a prediction whose label is known (non-finite predictions are ignored: they are errors).</summary>
    public void AddOutcome(double prediction, double label)
    {
        if (!double.IsFinite(prediction) || !double.IsFinite(label)) return;
        if (_binary)
        {
            var positive = label >= 0.5;
            var p = Math.Clamp(prediction, 1e-7, 1 - 1e-7);
            _loss.Add(positive ? -Math.Log(p) : -Math.Log(1 - p));
            var bin = ScoreBin(prediction);
            if (positive) _positives[bin]++; else _negatives[bin]++;
            var predicted = prediction >= _threshold;
            if (predicted && positive) _truePositives++;
            else if (predicted) _falsePositives++;
            else if (positive) _falseNegatives++;
        }
        else
        {
            var error = prediction - label;
            _squaredError += error * error;
            _loss.Add(error * error);
        }
    }

    /// <summary>Adds everything <paramref name="other"/> holds (same options) to this window.</summary>
    public void Merge(RolloutWindow other)
    {
        Rows += other.Rows;
        Errors += other.Errors;
        Batches += other.Batches;
        for (var k = 0; k < ScoreBins; k++)
        {
            _scores[k] += other._scores[k];
            _positives[k] += other._positives[k];
            _negatives[k] += other._negatives[k];
        }
        for (var k = 0; k < _latency.Length; k++) _latency[k] += other._latency[k];
        _loss.Merge(other._loss);
        _squaredError += other._squaredError;
        _truePositives += other._truePositives;
        _falsePositives += other._falsePositives;
        _falseNegatives += other._falseNegatives;
    }

    /// <summary>Adds only the labelled outcomes of <paramref name="other"/> (same options): what a replica observed in an
    /// earlier step still counts, because labels accumulate over the whole rollout.</summary>
    public void MergeOutcomes(RolloutWindow other)
    {
        for (var k = 0; k < ScoreBins; k++)
        {
            _positives[k] += other._positives[k];
            _negatives[k] += other._negatives[k];
        }
        _loss.Merge(other._loss);
        _squaredError += other._squaredError;
        _truePositives += other._truePositives;
        _falsePositives += other._falsePositives;
        _falseNegatives += other._falseNegatives;
    }

    /// <summary>Writes every count and sum (not the latency warm-up left), for another process to
    /// <see cref="ReadFrom"/> and merge.</summary>
    public void WriteTo(BinaryWriter writer)
    {
        writer.Write(Rows);
        writer.Write(Errors);
        writer.Write(Batches);
        foreach (var array in (long[][])[_scores, _positives, _negatives, _latency])
            foreach (var count in array) writer.Write(count);
        writer.Write(_loss.Count);
        writer.Write(_loss.Count == 0 ? 0 : _loss.Mean);
        writer.Write(_loss.SumSquaredDeviations);
        writer.Write(_loss.Count == 0 ? 0 : _loss.Min);
        writer.Write(_loss.Count == 0 ? 0 : _loss.Max);
        writer.Write(_squaredError);
        writer.Write(_truePositives);
        writer.Write(_falsePositives);
        writer.Write(_falseNegatives);
    }

    /// <summary>Replaces this window's counts and sums with what <see cref="WriteTo"/> wrote.</summary>
    public void ReadFrom(BinaryReader reader)
    {
        Clear();
        Rows = reader.ReadInt64();
        Errors = reader.ReadInt64();
        Batches = reader.ReadInt64();
        foreach (var array in (long[][])[_scores, _positives, _negatives, _latency])
            for (var k = 0; k < array.Length; k++) array[k] = reader.ReadInt64();
        var count = reader.ReadInt64();
        double mean = reader.ReadDouble(), m2 = reader.ReadDouble(), min = reader.ReadDouble(), max = reader.ReadDouble();
        _loss.Merge(count, mean, m2, min, max);
        _squaredError = reader.ReadDouble();
        _truePositives = reader.ReadInt64();
        _falsePositives = reader.ReadInt64();
        _falseNegatives = reader.ReadInt64();
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        Rows = Errors = Batches = 0;
        Array.Clear(_scores);
        Array.Clear(_positives);
        Array.Clear(_negatives);
        Array.Clear(_latency);
        _loss.Clear();
        _squaredError = 0;
        _truePositives = _falsePositives = _falseNegatives = 0;
    }

    /// <summary>Forgets the scores, errors and latencies but keeps the labelled outcomes (they accumulate over a whole
    /// rollout, because labels arrive slowly).</summary>
    internal void ClearTraffic()
    {
        Rows = Errors = Batches = 0;
        Array.Clear(_scores);
        Array.Clear(_latency);
    }

    private int ScoreBin(double score)
    {
        var bin = (score - _scoreMin) * _binsPerUnit;
        return bin <= 0 ? 0 : bin >= ScoreBins - 1 ? ScoreBins - 1 : (int)bin;
    }

    internal static int LatencyBin(double seconds)
    {
        if (!(seconds > 0)) return 0;
        var bin = (int)Math.Floor((Math.Log10(seconds) - LatencyMinExponent) * LatencyBinsPerDecade);
        return Math.Clamp(bin, 0, LatencyBinsPerDecade * LatencyDecades - 1);
    }

    internal static double LatencyUpperEdge(int bin) => Math.Pow(10, LatencyMinExponent + (bin + 1) / (double)LatencyBinsPerDecade);
}
