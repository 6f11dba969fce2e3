using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class CategoryEncodingTests
{
    /// <summary>Random labels and one noise column of 1,000 categories (about two rows each): nothing to learn.</summary>
    private static TrainingSet Noise()
    {
        var random = new Random(5);
        const int rows = 2000;
        var features = new float[rows * 2];
        var labels = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            features[r * 2] = random.Next(1000);
            features[r * 2 + 1] = (float)random.NextDouble();
            labels[r] = random.Next(2);
        }
        return new TrainingSet(features, 2, labels);
    }

    private static readonly LearnerOptions s_trees = new() { Trainer = "lightgbm", NumberOfTrees = 30, NumberOfLeaves = 8, MinimumExampleCountPerLeaf = 20, Threads = 1 };

    [Fact]
    public void Target_encoding_fitted_inside_each_fold_does_not_leak_but_fitted_before_the_split_does()
    {
        var set = Noise();
        var inFolds = CrossValidator.Run(new EncodingLearner(new MlNetLearner(LearningTask.Binary, s_trees), [0], CategoryEncodingKind.Target, smoothing: 1),
            set, new CrossValidationOptions { Folds = 5, Seed = 3 });
        Assert.InRange(inFolds.Validation["roc_auc"].Mean, 0.44, 0.56);

        // The leak, as a reference: the same encoding computed here over every row before cross-validating.
        var sums = new Dictionary<float, (double Sum, int Count)>();
        for (var r = 0; r < set.Rows; r++)
        {
            var (s, c) = sums.GetValueOrDefault(set.Features[r * 2]);
            sums[set.Features[r * 2]] = (s + set.Labels[r], c + 1);
        }
        var prior = set.Labels.Average();
        var leaked = (float[])set.Features.Clone();
        for (var r = 0; r < set.Rows; r++)
        {
            var (s, c) = sums[leaked[r * 2]];
            leaked[r * 2] = (float)((s + prior) / (c + 1));
        }
        var leakedCv = CrossValidator.Run(new MlNetLearner(LearningTask.Binary, s_trees), new TrainingSet(leaked, 2, set.Labels),
            new CrossValidationOptions { Folds = 5, Seed = 3 });
        Assert.True(leakedCv.Validation["roc_auc"].Mean > 0.65, $"the leaky reference scored {leakedCv.Validation["roc_auc"].Mean:F3}");
    }

    [Theory]
    [InlineData(CategoryEncodingKind.Target)]
    [InlineData(CategoryEncodingKind.Frequency)]
    public void Encoded_values_equal_a_plain_count_over_the_rows_fitted(CategoryEncodingKind kind)
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 600);
        const int education = 2;
        var fitted = set.Subset(Enumerable.Range(0, 400).ToArray());
        var encoder = CategoryEncoder.Fit(fitted, education, kind, smoothing: 10);
        var prior = fitted.Labels.Average();
        foreach (var category in Enumerable.Range(0, fitted.Rows).Select(r => fitted.Row(r)[education]).Distinct())
        {
            var rows = Enumerable.Range(0, fitted.Rows).Where(r => fitted.Row(r)[education] == category).ToArray();
            var expected = kind == CategoryEncodingKind.Target
                ? (rows.Sum(r => (double)fitted.Labels[r]) + 10 * prior) / (rows.Length + 10)
                : (double)rows.Length / fitted.Rows;
            Assert.Equal(expected, encoder.Encode(category), 5);
        }
        Assert.Equal(kind == CategoryEncodingKind.Target ? prior : 0, encoder.Encode(12345f), 5);
    }
}
