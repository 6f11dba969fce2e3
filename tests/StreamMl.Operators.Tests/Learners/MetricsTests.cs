using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class MetricsTests
{
    // Scores on a coarse grid so that ties occur often.
    private static (float[] Labels, float[] Scores) Sample(int[] raw)
    {
        var labels = raw.Select(v => (float)(v & 1)).ToArray();
        var scores = raw.Select(v => (Math.Abs(v / 2) % 11) / 10f).ToArray();
        return (labels, scores);
    }

    [Property(MaxTest = 300)]
    public Property Roc_auc_equals_the_pairwise_definition(int[] raw)
    {
        var (labels, scores) = Sample(raw);
        double wins = 0, pairs = 0;
        for (var i = 0; i < labels.Length; i++)
            for (var j = 0; j < labels.Length; j++)
            {
                if (labels[i] != 1 || labels[j] != 0) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        var auc = Evaluate.RocAuc(labels, scores);
        return (pairs == 0 ? double.IsNaN(auc) : Math.Abs(auc - wins / pairs) < 1e-9).Label($"auc={auc} ref={wins / pairs}");
    }

    [Property(MaxTest = 300)]
    public Property Average_precision_equals_its_definition_over_distinct_thresholds(int[] raw)
    {
        var (labels, scores) = Sample(raw);
        var positives = labels.Count(l => l == 1);
        if (positives == 0) return double.IsNaN(Evaluate.AveragePrecision(labels, scores)).ToProperty();
        double ap = 0, previousRecall = 0;
        foreach (var t in scores.Distinct().OrderByDescending(s => s))
        {
            var predicted = Enumerable.Range(0, labels.Length).Where(i => scores[i] >= t).ToArray();
            var tp = predicted.Count(i => labels[i] == 1);
            var recall = (double)tp / positives;
            ap += (recall - previousRecall) * tp / predicted.Length;
            previousRecall = recall;
        }
        return (Math.Abs(Evaluate.AveragePrecision(labels, scores) - ap) < 1e-9).ToProperty();
    }

    [Property(MaxTest = 200)]
    public Property Roc_curve_area_by_trapezoids_equals_roc_auc(int[] raw)
    {
        var (labels, scores) = Sample(raw);
        if (labels.Distinct().Count() < 2) return true.ToProperty();
        var curve = Thresholds.RocCurve(labels, scores);
        double area = 0;
        for (var i = 1; i < curve.Length; i++)
            area += (curve[i].FalsePositiveRate - curve[i - 1].FalsePositiveRate) * (curve[i].TruePositiveRate + curve[i - 1].TruePositiveRate) / 2;
        return (Math.Abs(area - Evaluate.RocAuc(labels, scores)) < 1e-9).Label($"{area} vs {Evaluate.RocAuc(labels, scores)}");
    }

    [Property(MaxTest = 100)]
    public Property Mean_and_std_match_a_two_pass_reference(NonEmptyArray<NormalFloat> raw)
    {
        var values = raw.Get.Select(v => (double)v.Get).ToArray();
        var summary = MetricSummary.Of(values);
        var mean = values.Sum() / values.Length;
        var std = values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        return (Math.Abs(summary.Mean - mean) <= 1e-9 * (1 + Math.Abs(mean)) && Math.Abs(summary.StdDev - std) <= 1e-9 * (1 + std)).ToProperty();
    }

    [Fact]
    public void Binary_metrics_agree_with_mlnet_evaluator_on_a_real_model()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 3000);
        var (trainRows, testRows) = Folds.StratifiedSplit(set.Labels, 0.3, 3);
        var train = set.Subset(trainRows);
        var test = set.Subset(testRows);
        var model = (MlNetModel)new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "fasttree", NumberOfTrees = 20 }).Fit(train);
        var probabilities = model.Predict(test);
        var ours = Evaluate.Binary(test.Labels, probabilities);

        var context = new MLContext(1);
        var view = context.Data.LoadFromEnumerable(test.Labels.Select((l, i) => new ScoredRow
        {
            // ML.NET's evaluator decides on Score > 0, so Score is the logit of the probability.
            Label = l > 0.5f, Probability = probabilities[i], Score = (float)Math.Log(probabilities[i] / (1 - probabilities[i])),
            PredictedLabel = probabilities[i] >= 0.5f,
        }));
        var theirs = context.BinaryClassification.Evaluate(view);
        Assert.Equal(theirs.Accuracy, ours[MetricNames.Accuracy], 6);
        Assert.Equal(theirs.PositivePrecision, ours[MetricNames.Precision], 6);
        Assert.Equal(theirs.PositiveRecall, ours[MetricNames.Recall], 6);
        Assert.Equal(theirs.F1Score, ours[MetricNames.F1], 6);
        Assert.Equal(theirs.AreaUnderRocCurve, ours[MetricNames.RocAuc], 4);
        // ML.NET reports log loss in bits.
        Assert.Equal(theirs.LogLoss * Math.Log(2), ours[MetricNames.LogLoss], 4);
        Assert.Equal(theirs.ConfusionMatrix.Counts[0][0], ours.ConfusionMatrix![1][1]);
        Assert.Equal(theirs.ConfusionMatrix.Counts[1][1], ours.ConfusionMatrix![0][0]);
    }

    [Fact]
    public void Regression_metrics_agree_with_mlnet_evaluator()
    {
        var set = LearnerTestData.Head(LearnerTestData.Housing, 3000);
        var (trainRows, testRows) = Folds.ShuffledSplit(set.Rows, 0.3, 3);
        var model = new MlNetLearner(LearningTask.Regression, new LearnerOptions { Trainer = "fasttree", NumberOfTrees = 20 }).Fit(set.Subset(trainRows));
        var test = set.Subset(testRows);
        var predictions = model.Predict(test);
        var ours = Evaluate.Regression(test.Labels, predictions);
        var context = new MLContext(1);
        var view = context.Data.LoadFromEnumerable(test.Labels.Select((l, i) => new RegressionRow { Label = l, Score = predictions[i] }));
        var theirs = context.Regression.Evaluate(view);
        Assert.Equal(theirs.RootMeanSquaredError, ours[MetricNames.Rmse], 4);
        Assert.Equal(theirs.MeanAbsoluteError, ours[MetricNames.Mae], 4);
        Assert.Equal(theirs.RSquared, ours[MetricNames.R2], 4);
    }

    [Fact]
    public void Multiclass_metrics_agree_with_mlnet_evaluator()
    {
        var head = LearnerTestData.Head(LearnerTestData.Credit, 3000);
        var labels = Enumerable.Range(0, head.Rows).Select(i => head.Labels[i] == 0 ? 0f : head.Row(i)[0] < 100_000 ? 1f : 2f).ToArray();
        var set = new TrainingSet(head.Features, head.FeatureCount, labels, head.FeatureNames);
        var (trainRows, testRows) = Folds.StratifiedSplit(set.Labels, 0.3, 3);
        var model = new MlNetLearner(LearningTask.Multiclass, new LearnerOptions { Trainer = "lr" }).Fit(set.Subset(trainRows));
        var test = set.Subset(testRows);
        var probabilities = model.Predict(test);
        var ours = Evaluate.Multiclass(test.Labels, probabilities, 3);

        var context = new MLContext(1);
        var rows = Enumerable.Range(0, test.Rows).Select(i =>
        {
            var p = probabilities.AsSpan(i * 3, 3).ToArray();
            return new MulticlassRow { Label = (uint)test.Labels[i], Score = p, PredictedLabel = (uint)Array.IndexOf(p, p.Max()) };
        });
        var schema = SchemaDefinition.Create(typeof(MulticlassRow));
        schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), 3);
        schema["PredictedLabel"].ColumnType = new KeyDataViewType(typeof(uint), 3);
        schema["Score"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3);
        var theirs = context.MulticlassClassification.Evaluate(context.Data.LoadFromEnumerable(rows, schema));
        Assert.Equal(theirs.MicroAccuracy, ours[MetricNames.Accuracy], 6);
        Assert.Equal(theirs.LogLoss, ours[MetricNames.LogLoss], 4);
        for (var t = 0; t < 3; t++)
            for (var p = 0; p < 3; p++)
                Assert.Equal(theirs.ConfusionMatrix.Counts[t][p], ours.ConfusionMatrix![t][p]);
    }

    private sealed class MulticlassRow
    {
        public uint Label;
        public float[] Score = [];
        public uint PredictedLabel;
    }

    private sealed class ScoredRow
    {
        public bool Label;
        public float Score;
        public float Probability;
        public bool PredictedLabel;
    }

    private sealed class RegressionRow
    {
        public float Label;
        public float Score;
    }
}
