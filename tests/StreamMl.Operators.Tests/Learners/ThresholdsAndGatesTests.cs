using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class ThresholdsAndGatesTests
{
    private static (double P, double R, double F1) Plain(float[] labels, float[] scores, double t)
    {
        int tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var predicted = scores[i] >= t;
            if (predicted && labels[i] == 1) tp++;
            else if (predicted) fp++;
            else if (labels[i] == 1) fn++;
        }
        var p = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        var r = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        return (p, r, p + r == 0 ? 0 : 2 * p * r / (p + r));
    }

    private static (float[], float[]) Sample(int[] raw) =>
        (raw.Select(v => (float)(v & 1)).ToArray(), raw.Select(v => (Math.Abs(v / 2) % 21) / 20f).ToArray());

    [Property(MaxTest = 200)]
    public Property Max_f1_threshold_is_the_best_of_every_candidate(int[] raw)
    {
        var (labels, scores) = Sample(raw);
        if (!labels.Contains(1)) return true.ToProperty();
        var choice = Thresholds.Choose(labels, scores, ThresholdObjective.MaxF1);
        var best = scores.Distinct().Max(t => Plain(labels, scores, t).F1);
        return (Math.Abs(choice.F1 - best) < 1e-9 && Math.Abs(Plain(labels, scores, choice.Threshold).F1 - best) < 1e-9).ToProperty();
    }

    [Property(MaxTest = 200)]
    public Property Target_precision_reaches_it_with_the_most_recall(int[] raw, PositiveInt targetRaw)
    {
        var (labels, scores) = Sample(raw);
        if (!labels.Contains(1)) return true.ToProperty();
        var target = 0.3 + (targetRaw.Get % 60) / 100.0;
        var choice = Thresholds.Choose(labels, scores, ThresholdObjective.TargetPrecision, target);
        var reaching = scores.Distinct().Select(t => Plain(labels, scores, t)).Where(m => m.P >= target).ToArray();
        if (reaching.Length == 0) return true.ToProperty();
        var achieved = Plain(labels, scores, choice.Threshold);
        return (achieved.P >= target && Math.Abs(achieved.R - reaching.Max(m => m.R)) < 1e-9).ToProperty();
    }

    [Property(MaxTest = 200)]
    public Property Target_recall_reaches_it_with_the_most_precision(int[] raw, PositiveInt targetRaw)
    {
        var (labels, scores) = Sample(raw);
        if (!labels.Contains(1)) return true.ToProperty();
        var target = 0.1 + (targetRaw.Get % 90) / 100.0;
        var choice = Thresholds.Choose(labels, scores, ThresholdObjective.TargetRecall, target);
        var achieved = Plain(labels, scores, choice.Threshold);
        var bestPrecision = scores.Distinct().Select(t => Plain(labels, scores, t)).Where(m => m.R >= target).Max(m => m.P);
        return (achieved.R >= target && Math.Abs(achieved.P - bestPrecision) < 1e-9).ToProperty();
    }

    [Fact]
    public void Pr_curve_points_match_plain_counting()
    {
        var (labels, scores) = Sample(Enumerable.Range(0, 300).Select(i => (i * 7919) ^ (i * 31)).ToArray());
        foreach (var point in Thresholds.PrecisionRecallCurve(labels, scores))
        {
            var (p, r, _) = Plain(labels, scores, point.Threshold);
            Assert.Equal(p, point.Precision, 9);
            Assert.Equal(r, point.Recall, 9);
        }
    }

    [Fact]
    public void Gates_flag_underfitting_overfitting_and_a_challenger_that_does_not_beat_the_champion()
    {
        var gates = new AcceptanceGates { MinScore = 0.75, MaxTrainTestGap = 0.05, ChampionMargin = 0.01 };
        var good = gates.Check(LearningTask.Binary, crossValidated: 0.78, train: 0.80, heldOut: 0.79, champion: 0.77);
        Assert.True(good.Passed, string.Join("; ", good.Results.Select(r => r.Message)));
        var under = gates.Check(LearningTask.Binary, 0.70, 0.72, 0.71, null);
        Assert.False(under.Results.Single(r => r.Gate == "min-score").Passed);
        Assert.True(under.Results.Single(r => r.Gate == "champion").Passed);
        var over = gates.Check(LearningTask.Binary, 0.78, 0.99, 0.78, null);
        Assert.False(over.Results.Single(r => r.Gate == "max-gap").Passed);
        var notBetter = gates.Check(LearningTask.Binary, 0.78, 0.80, 0.785, 0.78);
        Assert.False(notBetter.Results.Single(r => r.Gate == "champion").Passed);
        // RMSE: lower is better, so the minimum-score gate is a ceiling and the margin is a reduction.
        var regression = new AcceptanceGates { MinScore = 0.6, ChampionMargin = 0.01 }.Check(LearningTask.Regression, 0.55, 0.3, 0.5, 0.52);
        Assert.True(regression.Passed);
        var worse = new AcceptanceGates { ChampionMargin = 0.01 }.Check(LearningTask.Regression, 0.55, 0.3, 0.53, 0.52);
        Assert.False(worse.Passed);
    }
}
