namespace StreamMl.Operators.Learners;

/// <summary>Names of the metrics StreamMl computes. Higher is better except for <see cref="LogLoss"/>,
/// <see cref="Rmse"/> and <see cref="Mae"/> (see <see cref="HigherIsBetter"/>).</summary>
public static class MetricNames
{
    /// <summary>Share of rows predicted right.</summary>
    public const string Accuracy = "accuracy";
    /// <summary>TP / (TP + FP) at the decision threshold.</summary>
    public const string Precision = "precision";
    /// <summary>TP / (TP + FN) at the decision threshold.</summary>
    public const string Recall = "recall";
    /// <summary>Harmonic mean of precision and recall (macro average for multiclass).</summary>
    public const string F1 = "f1";
    /// <summary>Area under the ROC curve (ties count one half).</summary>
    public const string RocAuc = "roc_auc";
    /// <summary>Area under the precision-recall curve as average precision (step-wise, no interpolation).</summary>
    public const string PrAuc = "pr_auc";
    /// <summary>Mean negative natural log of the probability of the true class (clipped at 1e-15).</summary>
    public const string LogLoss = "log_loss";
    /// <summary>Root mean squared error.</summary>
    public const string Rmse = "rmse";
    /// <summary>Mean absolute error.</summary>
    public const string Mae = "mae";
    /// <summary>Coefficient of determination.</summary>
    public const string R2 = "r2";

    /// <summary>True when a larger value of <paramref name="metric"/> is better.</summary>
    public static bool HigherIsBetter(string metric) => metric is not (LogLoss or Rmse or Mae);

    /// <summary>The metrics of a task.</summary>
    public static IReadOnlyList<string> For(LearningTask task) => task switch
    {
        LearningTask.Binary => [Accuracy, Precision, Recall, F1, RocAuc, PrAuc, LogLoss],
        LearningTask.Multiclass => [Accuracy, F1, LogLoss],
        _ => [Rmse, Mae, R2],
    };
}

/// <summary>Metrics of one evaluation, plus the confusion matrix of a classifier (rows: true class, columns: predicted).</summary>
public sealed record EvaluationMetrics(IReadOnlyDictionary<string, double> Values, long[][]? ConfusionMatrix)
{
    /// <summary>The named metric.</summary>
    public double this[string name] => Values.TryGetValue(name, out var v)
        ? v
        : throw new KeyNotFoundException($"metric '{name}' was not computed; metrics are: {string.Join(", ", Values.Keys)}");
}

/// <summary>Mean and sample standard deviation of a metric over folds (and repeats).</summary>
public sealed record MetricSummary(double Mean, double StdDev, int Count)
{
    /// <summary>Summarises the given values.</summary>
    public static MetricSummary Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return new MetricSummary(double.NaN, double.NaN, 0);
        var mean = values.Average();
        var ss = 0.0;
        foreach (var v in values) ss += (v - mean) * (v - mean);
        return new MetricSummary(mean, values.Count > 1 ? Math.Sqrt(ss / (values.Count - 1)) : 0, values.Count);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Mean:F4} ± {StdDev:F4}";
}

/// <summary>Computes evaluation metrics from labels and predictions.</summary>
public static class Evaluate
{
    private const double Epsilon = 1e-15;

    /// <summary>Binary metrics from the probability of class 1 and a decision threshold (predict 1 when p ≥ threshold).</summary>
    public static EvaluationMetrics Binary(ReadOnlySpan<float> labels, ReadOnlySpan<float> probabilities, double threshold = 0.5)
    {
        if (labels.Length != probabilities.Length) throw new ArgumentException("labels and probabilities differ in length");
        if (labels.Length == 0) throw new ArgumentException("cannot evaluate zero rows");
        long tp = 0, fp = 0, tn = 0, fn = 0;
        var logLoss = 0.0;
        for (var i = 0; i < labels.Length; i++)
        {
            var positive = labels[i] > 0.5f;
            var p = Math.Clamp((double)probabilities[i], Epsilon, 1 - Epsilon);
            logLoss -= positive ? Math.Log(p) : Math.Log(1 - p);
            var predicted = probabilities[i] >= threshold;
            if (positive && predicted) tp++;
            else if (positive) fn++;
            else if (predicted) fp++;
            else tn++;
        }
        var precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        var values = new Dictionary<string, double>
        {
            [MetricNames.Accuracy] = (double)(tp + tn) / labels.Length,
            [MetricNames.Precision] = precision,
            [MetricNames.Recall] = recall,
            [MetricNames.F1] = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
            [MetricNames.RocAuc] = RocAuc(labels, probabilities),
            [MetricNames.PrAuc] = AveragePrecision(labels, probabilities),
            [MetricNames.LogLoss] = logLoss / labels.Length,
        };
        return new EvaluationMetrics(values, [[tn, fp], [fn, tp]]);
    }

    /// <summary>Multiclass metrics from a row-major [rows, classes] probability matrix; the prediction is the arg max.</summary>
    public static EvaluationMetrics Multiclass(ReadOnlySpan<float> labels, ReadOnlySpan<float> probabilities, int classes)
    {
        if (probabilities.Length != labels.Length * classes) throw new ArgumentException("probability matrix has the wrong size");
        if (labels.Length == 0) throw new ArgumentException("cannot evaluate zero rows");
        var confusion = new long[classes][];
        for (var c = 0; c < classes; c++) confusion[c] = new long[classes];
        var logLoss = 0.0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = probabilities.Slice(i * classes, classes);
            var best = 0;
            for (var c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
            var truth = (int)labels[i];
            confusion[truth][best]++;
            logLoss -= Math.Log(Math.Clamp(row[truth], Epsilon, 1 - Epsilon));
        }
        long correct = 0;
        var f1Sum = 0.0;
        for (var c = 0; c < classes; c++)
        {
            correct += confusion[c][c];
            long predicted = 0, actual = 0;
            for (var o = 0; o < classes; o++) { predicted += confusion[o][c]; actual += confusion[c][o]; }
            var p = predicted == 0 ? 0 : (double)confusion[c][c] / predicted;
            var r = actual == 0 ? 0 : (double)confusion[c][c] / actual;
            f1Sum += p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
        var values = new Dictionary<string, double>
        {
            [MetricNames.Accuracy] = (double)correct / labels.Length,
            [MetricNames.F1] = f1Sum / classes,
            [MetricNames.LogLoss] = logLoss / labels.Length,
        };
        return new EvaluationMetrics(values, confusion);
    }

    /// <summary>Regression metrics.</summary>
    public static EvaluationMetrics Regression(ReadOnlySpan<float> labels, ReadOnlySpan<float> predictions)
    {
        if (labels.Length != predictions.Length) throw new ArgumentException("labels and predictions differ in length");
        if (labels.Length == 0) throw new ArgumentException("cannot evaluate zero rows");
        double mean = 0;
        foreach (var y in labels) mean += y;
        mean /= labels.Length;
        double sse = 0, sae = 0, sst = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var e = (double)labels[i] - predictions[i];
            sse += e * e;
            sae += Math.Abs(e);
            sst += (labels[i] - mean) * (labels[i] - mean);
        }
        var values = new Dictionary<string, double>
        {
            [MetricNames.Rmse] = Math.Sqrt(sse / labels.Length),
            [MetricNames.Mae] = sae / labels.Length,
            [MetricNames.R2] = sst == 0 ? 0 : 1 - sse / sst,
        };
        return new EvaluationMetrics(values, null);
    }

    /// <summary>ROC AUC as the Mann-Whitney statistic with average ranks for tied scores; NaN when one class is absent.</summary>
    public static double RocAuc(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        var order = SortedAscending(scores);
        double positives = 0, rankSum = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            var averageRank = (i + j) / 2.0 + 1;
            for (var t = i; t <= j; t++)
            {
                if (labels[order[t]] > 0.5f) { positives++; rankSum += averageRank; }
            }
            i = j + 1;
        }
        var negatives = order.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct score thresholds, from high to low.</summary>
    public static double AveragePrecision(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        var order = SortedAscending(scores);
        double totalPositives = 0;
        foreach (var y in labels) if (y > 0.5f) totalPositives++;
        if (totalPositives == 0) return double.NaN;
        double tp = 0, seen = 0, previousRecall = 0, ap = 0;
        var i = order.Length - 1;
        while (i >= 0)
        {
            var j = i;
            while (j - 1 >= 0 && scores[order[j - 1]] == scores[order[i]]) j--;
            for (var t = j; t <= i; t++) { seen++; if (labels[order[t]] > 0.5f) tp++; }
            var recall = tp / totalPositives;
            ap += (recall - previousRecall) * (tp / seen);
            previousRecall = recall;
            i = j - 1;
        }
        return ap;
    }

    internal static int[] SortedAscending(ReadOnlySpan<float> scores)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        return order;
    }
}
