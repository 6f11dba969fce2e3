using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Metrics;

namespace StreamMl.Operators.Tests.Metrics;

/// <summary>Streaming metrics and the delayed-label join against batch computations over the same pairs.</summary>
public sealed class MetricsTests
{
    private static List<(double Score, bool Label)> Pairs(int[] scores, bool[] labels, int resolution) =>
        [.. scores.Zip(labels, (s, l) => ((double)(Math.Abs(s % (resolution + 1))) / resolution, l))];

    /// <summary>|binned AUC − exact AUC| ≤ half the share of positive–negative pairs in one bin (reported as the
    /// error bound); with one bin per distinct score the two agree to rounding.</summary>
    [Property(MaxTest = 200, EndSize = 2000)]
    public Property BinnedAucIsWithinItsStatedBoundOfExactAuc(int[] scores, bool[] labels, PositiveInt resolution, PositiveInt bins)
    {
        var pairs = Pairs(scores, labels, 1 + resolution.Get % 5000);
        if (!pairs.Any(p => p.Label) || !pairs.Any(p => !p.Label)) return true.ToProperty();
        var metrics = new ClassificationMetrics(aucBins: 1 + bins.Get % 2000);
        foreach (var (s, l) in pairs) metrics.Add(s, l);
        var exact = MetricsReference.ExactAuc(pairs);
        return (Math.Abs(metrics.RocAuc - exact) <= metrics.RocAucErrorBound + 1e-12)
            .Label($"binned {metrics.RocAuc}, exact {exact}, bound {metrics.RocAucErrorBound}");
    }

    [Property(MaxTest = 200, EndSize = 2000)]
    public Property ConfusionMatrixAndLogLossMatchBatchComputation(int[] scores, bool[] labels, PositiveInt thresholdPercent)
    {
        var pairs = Pairs(scores, labels, 100);
        if (pairs.Count == 0) return true.ToProperty();
        var threshold = (thresholdPercent.Get % 101) / 100.0;
        var metrics = new ClassificationMetrics(threshold);
        foreach (var (s, l) in pairs) metrics.Add(s, l);
        var (tp, fp, tn, fn, logLoss) = MetricsReference.Confusion(pairs, threshold);
        var precision = tp + fp == 0 ? double.NaN : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? double.NaN : (double)tp / (tp + fn);
        var f1 = double.IsNaN(precision) || double.IsNaN(recall) || precision + recall == 0
            ? (tp + fp + fn == 0 ? double.NaN : 0) : 2 * precision * recall / (precision + recall);
        return (metrics.TruePositives == tp && metrics.FalsePositives == fp && metrics.TrueNegatives == tn && metrics.FalseNegatives == fn
                && Math.Abs(metrics.LogLoss - logLoss) <= 1e-9 * Math.Max(1, logLoss)
                && Math.Abs(metrics.Accuracy - (double)(tp + tn) / pairs.Count) <= 1e-15
                && Same(metrics.Precision, precision) && Same(metrics.Recall, recall) && Same(metrics.F1, f1))
            .Label($"tp {metrics.TruePositives}/{tp} fp {metrics.FalsePositives}/{fp} f1 {metrics.F1}/{f1} logloss {metrics.LogLoss}/{logLoss}");
    }

    [Property(MaxTest = 200, EndSize = 2000)]
    public Property RegressionMetricsMatchBatchComputation(int[] predictions, int[] labels, int offset)
    {
        var pairs = predictions.Zip(labels, (p, l) => (p / 8.0 + offset, l / 8.0 + offset)).ToList();
        if (pairs.Count < 2 || pairs.All(p => p.Item2 == pairs[0].Item2)) return true.ToProperty();
        var metrics = new RegressionMetrics();
        foreach (var (p, l) in pairs) metrics.Add(p, l);
        var (rmse, mae, r2) = MetricsReference.Regression(pairs);
        return (Math.Abs(metrics.Rmse - rmse) <= 1e-9 * Math.Max(1, rmse) && Math.Abs(metrics.Mae - mae) <= 1e-9 * Math.Max(1, mae)
                && Math.Abs(metrics.R2 - r2) <= 1e-6 * Math.Max(1, Math.Abs(r2)))
            .Label($"rmse {metrics.Rmse}/{rmse} mae {metrics.Mae}/{mae} r2 {metrics.R2}/{r2}");
    }

    private static bool Same(double a, double b) => double.IsNaN(a) ? double.IsNaN(b) : Math.Abs(a - b) <= 1e-12;

    private static readonly Schema s_predictionSchema = new(
        new Field("id", ColumnType.Int64), new Field("p", ColumnType.Float32), new Field("variant", ColumnType.String));

    private static readonly Schema s_labelSchema = new(new Field("id", ColumnType.Int64), new Field("y", ColumnType.Float64));

    private sealed record Prediction(long Id, long Time, string Variant, float P);

    private sealed record Label(long Id, long Time, double Y);

    [Theory]
    [InlineData(ModelTask.BinaryClassification)]
    [InlineData(ModelTask.Regression)]
    public void DelayedLabelsJoinWithinTheTimeBoundAndMetricsMatchBatchComputation(ModelTask task)
    {
        const long bound = 5_000;
        var rng = new Random(42);
        var predictions = new List<Prediction>();
        var labels = new List<Label>();
        for (var id = 0L; id < 20_000; id++)
        {
            var time = id * 3 + rng.Next(3);
            var variant = rng.NextDouble() < 0.7 ? "A" : "B";
            var truth = rng.NextDouble() < 0.3;
            // Variant B is the better model: its scores separate the classes more.
            var signal = variant == "A" ? 0.15 : 0.3;
            var p = task == ModelTask.BinaryClassification
                ? (float)Math.Clamp(rng.NextDouble() * 0.7 + (truth ? signal : 0), 0, 1)
                : (float)(rng.NextDouble() * 10);
            predictions.Add(new Prediction(id, time, variant, p));
            var roll = rng.NextDouble();
            if (roll < 0.1) continue; // never labelled
            // Mostly within the bound; some too late; a few timestamped before the prediction.
            var delay = roll < 0.8 ? rng.Next((int)bound + 1) : roll < 0.97 ? bound + 1 + rng.Next(20_000) : -1 - rng.Next(100);
            var y = task == ModelTask.BinaryClassification ? (truth ? 1 : 0) : p + (rng.NextDouble() - 0.5) * (variant == "A" ? 4 : 1);
            labels.Add(new Label(id, time + delay, y));
        }
        labels.Sort((a, b) => a.Time.CompareTo(b.Time));

        var metrics = new StreamingMetrics(new StreamingMetricsOptions { Task = task, TimeBound = TimeSpan.FromMicroseconds(bound) });
        var predictionOp = new PredictionMetricsOperator(metrics, "id", "p", "variant");
        var labelOp = new LabelMetricsOperator(metrics, "id", "y");
        predictionOp.Bind(s_predictionSchema);
        labelOp.Bind(s_labelSchema);
        using var pBatch = new ColumnBatch(s_predictionSchema, 2048);
        using var lBatch = new ColumnBatch(s_labelSchema, 2048);
        var context = StageContext.Standalone("metrics");
        const long slice = 2_000;
        var end = Math.Max(predictions[^1].Time, labels[^1].Time) + slice;
        var pi = 0;
        var li = 0;
        for (long sliceEnd = slice, n = 0; sliceEnd <= end + slice; sliceEnd += slice, n++)
        {
            var pRows = new List<Prediction>();
            while (pi < predictions.Count && predictions[pi].Time < sliceEnd) pRows.Add(predictions[pi++]);
            var lRows = new List<Label>();
            while (li < labels.Count && labels[li].Time < sliceEnd) lRows.Add(labels[li++]);
            // Alternate which side is processed first so both "label waits for prediction" and the reverse occur.
            if (n % 2 == 0) { FeedPredictions(pRows, sliceEnd - 1); FeedLabels(lRows, sliceEnd - 1); }
            else { FeedLabels(lRows, sliceEnd - 1); FeedPredictions(pRows, sliceEnd - 1); }
        }
        metrics.AdvanceLabelWatermark(long.MaxValue);
        metrics.AdvancePredictionWatermark(long.MaxValue);

        void FeedPredictions(List<Prediction> rows, long watermark)
        {
            pBatch.Reset();
            var variantColumn = pBatch["variant"];
            for (var i = 0; i < rows.Count; i++)
            {
                pBatch["id"].Values<long>()[i] = rows[i].Id;
                pBatch["p"].Values<float>()[i] = rows[i].P;
                variantColumn.Values<int>()[i] = variantColumn.Dictionary!.GetOrAdd(rows[i].Variant);
                pBatch.EventTimesBuffer[i] = rows[i].Time;
            }
            pBatch.Length = rows.Count;
            pBatch.Watermark = watermark;
            predictionOp.Process(pBatch, context);
        }

        void FeedLabels(List<Label> rows, long watermark)
        {
            lBatch.Reset();
            for (var i = 0; i < rows.Count; i++)
            {
                lBatch["id"].Values<long>()[i] = rows[i].Id;
                lBatch["y"].Values<double>()[i] = rows[i].Y;
                lBatch.EventTimesBuffer[i] = rows[i].Time;
            }
            lBatch.Length = rows.Count;
            lBatch.Watermark = watermark;
            labelOp.Process(lBatch, context);
        }

        var labelById = labels.ToDictionary(l => l.Id);
        var joined = predictions
            .Where(p => labelById.TryGetValue(p.Id, out var l) && l.Time >= p.Time && l.Time - p.Time <= bound)
            .Select(p => (Prediction: p, Label: labelById[p.Id]))
            .ToList();
        var report = metrics.GetReport();
        Assert.Equal(joined.Count, report.Matched);
        Assert.Equal(0, report.PendingPredictions);
        Assert.Equal(0, report.PendingLabels);
        Assert.Equal(predictions.Count, report.Matched + report.ExpiredPredictions);
        Assert.Equal(labels.Count, report.Matched + report.ExpiredLabels + report.OutOfBoundLabels);
        Assert.True(report.OutOfBoundLabels > 0 && report.ExpiredPredictions > 0);

        foreach (var variant in new[] { "A", "B" })
        {
            var mine = joined.Where(j => j.Prediction.Variant == variant).ToList();
            var v = report.For(variant)!;
            Assert.Equal(mine.Count, v.Count);
            if (task == ModelTask.BinaryClassification)
            {
                var pairs = mine.Select(j => ((double)j.Prediction.P, j.Label.Y >= 0.5)).ToList();
                var (tp, fp, tn, fn, logLoss) = MetricsReference.Confusion(pairs, 0.5);
                Assert.Equal((tp, fp, tn, fn), (v.TruePositives!.Value, v.FalsePositives!.Value, v.TrueNegatives!.Value, v.FalseNegatives!.Value));
                Assert.Equal(logLoss, v.LogLoss!.Value, tolerance: 1e-9);
                var exactAuc = MetricsReference.ExactAuc(pairs);
                Assert.InRange(v.RocAuc!.Value, exactAuc - v.RocAucErrorBound!.Value - 1e-12, exactAuc + v.RocAucErrorBound.Value + 1e-12);
                Assert.True(v.RocAucErrorBound < 0.002, $"bound {v.RocAucErrorBound}");
            }
            else
            {
                var (rmse, mae, r2) = MetricsReference.Regression([.. mine.Select(j => ((double)j.Prediction.P, j.Label.Y))]);
                Assert.Equal(rmse, v.Rmse!.Value, tolerance: 1e-9);
                Assert.Equal(mae, v.Mae!.Value, tolerance: 1e-9);
                Assert.Equal(r2, v.R2!.Value, tolerance: 1e-9);
            }
        }
        // Variant B was built to be better; the metrics must see it.
        if (task == ModelTask.BinaryClassification) Assert.True(report.For("B")!.RocAuc > report.For("A")!.RocAuc);
        else Assert.True(report.For("B")!.Rmse < report.For("A")!.Rmse);
        Assert.Equal(report.ToJson(), MetricsReport.FromJson(report.ToJson()).ToJson());
    }

    [Fact]
    public void StringKeysJoinAndDuplicatesAreCounted()
    {
        var metrics = new StreamingMetrics(new StreamingMetricsOptions { TimeBound = TimeSpan.FromSeconds(1) });
        metrics.AddLabel(JoinKey.Of("order-1"), 500_000, 1);        // label first, prediction later in processing order
        metrics.AddPrediction(JoinKey.Of("order-1"), 100_000, "default", 0.9);
        metrics.AddPrediction(JoinKey.Of("order-2"), 100_000, "default", 0.2);
        metrics.AddPrediction(JoinKey.Of("order-2"), 200_000, "default", 0.3); // replaces the pending one
        metrics.AddLabel(JoinKey.Of("order-2"), 1_300_000, 0);     // 1.1 s after the kept prediction: out of bound
        metrics.AdvanceLabelWatermark(long.MaxValue);
        metrics.AdvancePredictionWatermark(long.MaxValue);
        var report = metrics.GetReport();
        Assert.Equal(1, report.Matched);
        Assert.Equal(1, report.DuplicatePredictions);
        Assert.Equal(1, report.OutOfBoundLabels);
        Assert.Equal(1, report.For("default")!.TruePositives);
    }

    [Fact]
    public void JoinAllocatesNothingInSteadyState()
    {
        var metrics = new StreamingMetrics(new StreamingMetricsOptions { TimeBound = TimeSpan.FromMicroseconds(1000) });
        void Run(long from, long count)
        {
            for (var i = from; i < from + count; i++)
            {
                metrics.AddPrediction(JoinKey.Of(i), i, "A", (i % 10) / 10.0);
                if (i % 5 != 0) metrics.AddLabel(JoinKey.Of(i - 100), i, (i / 3) % 2);
                if (i % 64 == 0) { metrics.AdvanceLabelWatermark(i); metrics.AdvancePredictionWatermark(i - 200); }
            }
        }
        Run(0, 50_000);
        var from = 50_000L;
        Assert.Equal(0, SteadyState.AllocatedBytes(() => { Run(from, 100_000); from += 100_000; }, 1));
        Assert.True(metrics.GetReport().Matched > 100_000);
    }
}
