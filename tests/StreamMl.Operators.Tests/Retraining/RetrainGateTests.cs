using StreamMl.Operators.Learners;
using StreamMl.Operators.Retraining;

namespace StreamMl.Operators.Tests.Retraining;

/// <summary>The gate's bookkeeping against plain references: held-out rows are never trained on, each other window row is
/// validated exactly once, reference rows are in every fit and never scored, both models are scored on the same rows,
/// and the per-fold and held-out numbers equal a textbook AUC over those rows.</summary>
public sealed class RetrainGateTests
{
    [Fact]
    public void Both_models_are_scored_on_the_same_unseen_rows_and_the_numbers_are_plain_aucs_over_them()
    {
        var window = SensorStream.Rows(1500, seed: 4, drifted: true);
        var reference = SensorStream.Rows(300, seed: 5, drifted: false);
        // Reference rows get ids after the window's, so the spy can tell them apart.
        reference = new TrainingSet(reference.Features, 3, reference.Labels, reference.FeatureNames, rowIds: [.. Enumerable.Range(10_000, 300)]);
        var learner = new SpyLearner();
        var championCalls = new List<int[]>();
        // The champion scores by temperature alone (the concept before the drift).
        float[] Champion(TrainingSet rows)
        {
            championCalls.Add(rows.RowIds);
            return [.. Enumerable.Range(0, rows.Rows).Select(r => rows.Row(r)[0])];
        }
        var options = new RetrainGateOptions { Folds = 4, Holdout = 0.2, Seed = 3 };

        var (gate, _) = RetrainGate.Run(learner, window, reference, Champion, options);

        Assert.Equal(5, learner.Fits.Count); // 4 folds + the final fit
        Assert.Equal(5, championCalls.Count);
        var heldOut = championCalls[^1].ToHashSet();
        Assert.Equal(300, heldOut.Count);
        Assert.Equal(learner.Predictions[^1], championCalls[^1]); // the same held-out rows for both
        var validated = new List<int>();
        for (var fold = 0; fold < 4; fold++)
        {
            var fit = learner.Fits[fold];
            Assert.Empty(fit.Intersect(heldOut));
            Assert.Empty(fit.Intersect(championCalls[fold]));
            Assert.Equal(300, fit.Count(id => id >= 10_000)); // every reference row, in every fit
            Assert.Equal(learner.Predictions[fold], championCalls[fold]);
            Assert.DoesNotContain(championCalls[fold], id => id >= 10_000); // reference rows are never scored
            validated.AddRange(championCalls[fold]);
            Assert.Equal(PlainAuc(window, championCalls[fold], id => window.Row(id)[0]), gate.Folds.Champion[fold], 9);
            Assert.Equal(PlainAuc(window, championCalls[fold], id => window.Row(id)[2]), gate.Folds.Challenger[fold], 9);
        }
        // Every window row outside the held-out share is validated exactly once.
        Assert.Equal(Enumerable.Range(0, 1500).Where(id => !heldOut.Contains(id)).Order(), validated.Order());
        Assert.Empty(learner.Fits[^1].Intersect(heldOut));
        Assert.Equal(1200 + 300, learner.Fits[^1].Length);
        Assert.Equal(PlainAuc(window, championCalls[^1], id => window.Row(id)[2]), gate.HeldOutChallenger, 9);
        Assert.Equal(PlainAuc(window, championCalls[^1], id => window.Row(id)[0]), gate.HeldOutChampion, 9);
        // After the drift pressure decides, so the "challenger" (scores by pressure) wins.
        Assert.True(gate.Passed, gate.Summary);
    }

    /// <summary>AUC as the share of (positive, negative) pairs the score ranks right, ties one half.</summary>
    private static double PlainAuc(TrainingSet set, int[] ids, Func<int, float> score)
    {
        double pairs = 0, right = 0;
        foreach (var i in ids)
            foreach (var j in ids)
                if (set.Labels[i] == 1 && set.Labels[j] == 0)
                {
                    pairs++;
                    right += score(i) > score(j) ? 1 : score(i) == score(j) ? 0.5 : 0;
                }
        return right / pairs;
    }

    /// <summary>Records the row ids of each fit and each prediction; its "model" scores by pressure.</summary>
    private sealed class SpyLearner : ILearner
    {
        public List<int[]> Fits { get; } = [];

        public List<int[]> Predictions { get; } = [];

        public LearningTask Task => LearningTask.Binary;

        public IFittedModel Fit(TrainingSet set)
        {
            Fits.Add(set.RowIds);
            return new ByPressure(this);
        }

        private sealed class ByPressure(SpyLearner spy) : IFittedModel
        {
            public LearningTask Task => LearningTask.Binary;

            public int Classes => 2;

            public float[] Predict(TrainingSet set)
            {
                spy.Predictions.Add(set.RowIds);
                return [.. Enumerable.Range(0, set.Rows).Select(r => set.Row(r)[2])];
            }

            public void ExportOnnx(Stream stream) => throw new NotSupportedException();
        }
    }
}
