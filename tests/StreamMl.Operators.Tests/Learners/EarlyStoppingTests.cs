using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class EarlyStoppingTests
{
    private static LearnerOptions Boosted(int? earlyStopping, int trees) => new()
    {
        Trainer = "lightgbm",
        NumberOfTrees = trees,
        LearningRate = 0.3,
        NumberOfLeaves = 16,
        EarlyStoppingRounds = earlyStopping,
        Threads = 1,
    };

    [Theory]
    [InlineData(LearningTask.Binary)]
    [InlineData(LearningTask.Regression)]
    public void Early_stopping_keeps_the_trees_up_to_the_best_held_out_round(LearningTask task)
    {
        var set = LearnerTestData.Head(task == LearningTask.Binary ? LearnerTestData.Credit : LearnerTestData.Housing, 3000);
        var stopped = new MlNetLearner(task, Boosted(10, 400)).Fit(set);
        Assert.NotNull(stopped.Trees);
        var trees = stopped.Trees!.Value;
        Assert.InRange(trees, 1, 399);

        // Reference: the same inner split, boosted without early stopping for 1..trees+10 rounds; the held-out loss
        // computed here must be lowest at `trees`, and the model with exactly `trees` trees must predict what the early
        // stopped model predicts (so the held-out rows were not fitted and the trees after the best round were dropped).
        var (inner, holdout) = task == LearningTask.Binary
            ? Folds.StratifiedSplit(set.Labels, 0.1, 1)
            : Folds.ShuffledSplit(set.Rows, 0.1, 1);
        var innerSet = set.Subset(inner);
        var holdoutSet = set.Subset(holdout);
        var full = new MlNetLearner(task, Boosted(null, trees)).Fit(innerSet);
        var expected = full.Predict(set);
        var actual = stopped.Predict(set);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);

        var atBest = Loss(task, holdoutSet.Labels, full.Predict(holdoutSet));
        var longer = new MlNetLearner(task, Boosted(null, trees + 10)).Fit(innerSet);
        Assert.True(Loss(task, holdoutSet.Labels, longer.Predict(holdoutSet)) >= atBest - 1e-9, "10 more rounds improved the held-out loss: boosting stopped too early");
        if (trees > 1)
        {
            var shorter = new MlNetLearner(task, Boosted(null, trees - 1)).Fit(innerSet);
            Assert.True(Loss(task, holdoutSet.Labels, shorter.Predict(holdoutSet)) >= atBest - 1e-9, "one round fewer was better on the held-out rows");
        }
    }

    private static double Loss(LearningTask task, float[] labels, float[] predictions)
    {
        var sum = 0.0;
        for (var i = 0; i < labels.Length; i++)
        {
            double p = predictions[i];
            sum += task == LearningTask.Binary
                ? -(labels[i] * Math.Log(Math.Clamp(p, 1e-15, 1)) + (1 - labels[i]) * Math.Log(Math.Clamp(1 - p, 1e-15, 1)))
                : (p - labels[i]) * (p - labels[i]);
        }
        return sum / labels.Length;
    }

    [Fact]
    public void Without_early_stopping_every_tree_is_grown_and_no_count_is_reported()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 1000);
        Assert.Null(new MlNetLearner(LearningTask.Binary, Boosted(null, 20)).Fit(set).Trees);
    }
}
