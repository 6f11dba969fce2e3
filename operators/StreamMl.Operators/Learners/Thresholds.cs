namespace StreamMl.Operators.Learners;

/// <summary>One point of a precision-recall curve: predicting 1 when the score is at least <see cref="Threshold"/>.</summary>
public readonly record struct PrPoint(double Threshold, double Precision, double Recall);

/// <summary>One point of a ROC curve: predicting 1 when the score is at least <see cref="Threshold"/>.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>How a decision threshold is chosen.</summary>
public enum ThresholdObjective
{
    /// <summary>Keep 0.5.</summary>
    Fixed,
    /// <summary>The threshold with the largest F1.</summary>
    MaxF1,
    /// <summary>The threshold with the largest recall among those reaching the target precision.</summary>
    TargetPrecision,
    /// <summary>The threshold with the largest precision among those reaching the target recall.</summary>
    TargetRecall,
}

/// <summary>A chosen threshold and what it achieves on the data it was tuned on.</summary>
public sealed record ThresholdChoice(double Threshold, ThresholdObjective Objective, double Precision, double Recall, double F1);

/// <summary>Precision-recall and ROC curves and threshold selection for binary scores. Tune on out-of-fold scores
/// (never on the rows a model was fitted on); the chosen threshold is stored with the model and applied at scoring.</summary>
public static class Thresholds
{
    /// <summary>The precision-recall curve, one point per distinct score, from the highest threshold to the lowest.</summary>
    public static PrPoint[] PrecisionRecallCurve(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        var points = new List<PrPoint>();
        Walk(labels, scores, (threshold, tp, fp, positives, _) =>
            points.Add(new PrPoint(threshold, tp / (tp + fp), positives == 0 ? 0 : tp / positives)));
        return points.ToArray();
    }

    /// <summary>The ROC curve, from (0, 0) (threshold +∞) to (1, 1), one point per distinct score.</summary>
    public static RocPoint[] RocCurve(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        Walk(labels, scores, (threshold, tp, fp, positives, negatives) =>
            points.Add(new RocPoint(threshold, negatives == 0 ? 0 : fp / negatives, positives == 0 ? 0 : tp / positives)));
        return points.ToArray();
    }

    /// <summary>Chooses a threshold. <paramref name="target"/> is the precision or recall to reach for those objectives.
    /// When no threshold reaches the target, the one coming closest is taken.</summary>
    public static ThresholdChoice Choose(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores, ThresholdObjective objective,
        double target = 0)
    {
        var curve = PrecisionRecallCurve(labels, scores);
        if (curve.Length == 0) throw new ArgumentException("cannot choose a threshold from zero rows");
        static double F1(PrPoint p) => p.Precision + p.Recall == 0 ? 0 : 2 * p.Precision * p.Recall / (p.Precision + p.Recall);
        PrPoint best;
        switch (objective)
        {
            case ThresholdObjective.Fixed:
                return Describe(labels, scores, 0.5, objective);
            case ThresholdObjective.MaxF1:
                best = curve.MaxBy(F1);
                break;
            case ThresholdObjective.TargetPrecision:
                var reaching = curve.Where(p => p.Precision >= target).ToArray();
                best = reaching.Length > 0 ? reaching.MaxBy(p => (p.Recall, p.Threshold)) : curve.MaxBy(p => p.Precision);
                break;
            case ThresholdObjective.TargetRecall:
                var reachingRecall = curve.Where(p => p.Recall >= target).ToArray();
                best = reachingRecall.Length > 0 ? reachingRecall.MaxBy(p => (p.Precision, p.Threshold)) : curve.MaxBy(p => p.Recall);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(objective));
        }
        return new ThresholdChoice(best.Threshold, objective, best.Precision, best.Recall, F1(best));
    }

    /// <summary>Precision, recall and F1 of a given threshold.</summary>
    public static ThresholdChoice Describe(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores, double threshold,
        ThresholdObjective objective = ThresholdObjective.Fixed)
    {
        var m = Evaluate.Binary(labels, scores, threshold);
        return new ThresholdChoice(threshold, objective, m[MetricNames.Precision], m[MetricNames.Recall], m[MetricNames.F1]);
    }

    /// <summary>The decision for one probability: 1 when it is at least the threshold.</summary>
    public static float Apply(float probability, double threshold) => probability >= threshold ? 1f : 0f;

    private delegate void PointSink(double threshold, double tp, double fp, double positives, double negatives);

    private static void Walk(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores, PointSink sink)
    {
        if (labels.Length != scores.Length) throw new ArgumentException("labels and scores differ in length");
        var order = Evaluate.SortedAscending(scores);
        double positives = 0;
        foreach (var y in labels) if (y > 0.5f) positives++;
        var negatives = labels.Length - positives;
        double tp = 0, fp = 0;
        var i = order.Length - 1;
        while (i >= 0)
        {
            var j = i;
            while (j - 1 >= 0 && scores[order[j - 1]] == scores[order[i]]) j--;
            for (var t = j; t <= i; t++) { if (labels[order[t]] > 0.5f) tp++; else fp++; }
            sink(scores[order[i]], tp, fp, positives, negatives);
            i = j - 1;
        }
    }
}
