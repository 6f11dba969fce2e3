using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Retraining;

/// <summary>The most recent labelled rows of a stream, kept for retraining: a ring of <see cref="Capacity"/> rows of
/// feature values, the label and the serving model's score (NaN when unknown). The newest rows replace the oldest.
/// Writers append whole batches under one lock; readers take copies (<see cref="Snapshot"/>, <see cref="RecentScores"/>),
/// so training never holds up the stream. Thread-safe.</summary>
public sealed class RetrainWindow
{
    private readonly Lock _lock = new();
    private readonly float[] _features;
    private readonly float[] _labels;
    private readonly float[] _scores;
    private long _appended;
    private long _metricFrom;

    /// <summary>A window of <paramref name="capacity"/> rows over the named features.</summary>
    public RetrainWindow(IReadOnlyList<string> featureNames, int capacity)
    {
        if (featureNames.Count == 0) throw new RetrainException("a retrain window needs at least one feature column");
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        FeatureNames = featureNames.ToArray();
        Capacity = capacity;
        _features = new float[capacity * featureNames.Count];
        _labels = new float[capacity];
        _scores = new float[capacity];
    }

    /// <summary>The feature columns, in order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Rows kept at most.</summary>
    public int Capacity { get; }

    /// <summary>Rows held now.</summary>
    public int Count { get { lock (_lock) return (int)Math.Min(_appended, Capacity); } }

    /// <summary>Rows appended since the window was created.</summary>
    public long Appended { get { lock (_lock) return _appended; } }

    /// <summary>Appends rows given as a row-major feature matrix with their labels and scores (NaN: no score).</summary>
    public void Append(ReadOnlySpan<float> features, ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        var width = FeatureNames.Count;
        if (features.Length != labels.Length * width || scores.Length != labels.Length)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * width} feature values and {labels.Length} scores");
        lock (_lock)
        {
            for (var row = 0; row < labels.Length; row++)
            {
                var slot = (int)(_appended % Capacity);
                features.Slice(row * width, width).CopyTo(_features.AsSpan(slot * width, width));
                _labels[slot] = labels[row];
                _scores[slot] = scores[row];
                _appended++;
            }
        }
    }

    /// <summary>A copy of the rows held, oldest first, as a training set, with the stream positions (1-based) of its
    /// first and last rows.</summary>
    public (TrainingSet Rows, long FirstRow, long LastRow) Snapshot()
    {
        lock (_lock)
        {
            var count = (int)Math.Min(_appended, Capacity);
            var width = FeatureNames.Count;
            var features = new float[count * width];
            var labels = new float[count];
            var first = _appended - count;
            for (var i = 0; i < count; i++)
            {
                var slot = (int)((first + i) % Capacity);
                _features.AsSpan(slot * width, width).CopyTo(features.AsSpan(i * width, width));
                labels[i] = _labels[slot];
            }
            return (new TrainingSet(features, width, labels, FeatureNames), first + 1, _appended);
        }
    }

    /// <summary>The scores and labels of the newest <paramref name="rows"/> rows appended since
    /// <see cref="RestartMetric"/>, or null while fewer than that many are held. Rows without a score are skipped.</summary>
    public (float[] Scores, float[] Labels)? RecentScores(int rows)
    {
        lock (_lock)
        {
            var first = Math.Max(_metricFrom, _appended - Capacity);
            var scores = new List<float>(rows);
            var labels = new List<float>(rows);
            for (var seq = _appended - 1; seq >= first && scores.Count < rows; seq--)
            {
                var slot = (int)(seq % Capacity);
                if (float.IsNaN(_scores[slot])) continue;
                scores.Add(_scores[slot]);
                labels.Add(_labels[slot]);
            }
            return scores.Count < rows ? null : (scores.ToArray(), labels.ToArray());
        }
    }

    /// <summary>From now on, the live metric counts only rows appended after this call (after a new model took over, the
    /// old model's scores no longer say how the serving model does).</summary>
    public void RestartMetric()
    {
        lock (_lock) _metricFrom = _appended;
    }
}
