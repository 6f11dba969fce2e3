using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class CrossValidationTests
{
    /// <summary>Wraps a real learner and records what each fit and prediction saw.</summary>
    private sealed class RecordingLearner(ILearner inner) : ILearner
    {
        public List<TrainingSet> Fitted { get; } = [];
        public List<TrainingSet> Predicted { get; } = [];
        public LearningTask Task => inner.Task;

        public IFittedModel Fit(TrainingSet set)
        {
            Fitted.Add(set);
            return new RecordingModel(inner.Fit(set), Predicted);
        }

        private sealed class RecordingModel(IFittedModel model, List<TrainingSet> log) : IFittedModel
        {
            public LearningTask Task => model.Task;
            public int Classes => model.Classes;
            public float[] Predict(TrainingSet set) { log.Add(set); return model.Predict(set); }
            public void ExportOnnx(Stream stream) => model.ExportOnnx(stream);
        }
    }

    [Fact]
    public void Resampling_touches_training_folds_only()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 2000);
        var learner = new RecordingLearner(new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "fasttree", NumberOfTrees = 10 }));
        var result = CrossValidator.Run(learner, set, new CrossValidationOptions { Folds = 4, Resampler = new Smote(5), Seed = 3 });

        Assert.Equal(4, learner.Fitted.Count);
        // Each fold predicts its validation fold, then its own (unresampled) training fold.
        Assert.Equal(8, learner.Predicted.Count);
        var seenValidation = new List<int>();
        for (var fold = 0; fold < 4; fold++)
        {
            var fitted = learner.Fitted[fold];
            var validation = learner.Predicted[fold * 2];
            Assert.DoesNotContain(TrainingSet.SyntheticRow, validation.RowIds);
            Assert.Contains(TrainingSet.SyntheticRow, fitted.RowIds);
            Assert.Empty(fitted.RowIds.Where(id => id >= 0).Intersect(validation.RowIds));
            // The validation fold keeps the natural class balance; the fitted fold is balanced by SMOTE.
            Assert.InRange(validation.Labels.Average(), set.Labels.Average() - 0.01, set.Labels.Average() + 0.01);
            Assert.Equal(fitted.ClassCounts()[0], fitted.ClassCounts()[1]);
            // Validation rows are the original rows, untouched.
            for (var i = 0; i < validation.Rows; i++) Assert.True(validation.Row(i).SequenceEqual(set.Row(validation.RowIds[i])));
            seenValidation.AddRange(validation.RowIds);
            Assert.Equal(validation.Rows, result.Folds[fold].ValidationRows);
        }
        Assert.Equal(Enumerable.Range(0, set.Rows), seenValidation.Order());
    }

    [Fact]
    public void Stratified_cv_on_credit_default_reports_mean_and_std_over_folds_and_repeats()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 3000);
        var result = CrossValidator.Run(new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lightgbm", NumberOfTrees = 30 }),
            set, new CrossValidationOptions { Folds = 3, Repeats = 2, Seed = 1 });
        Assert.Equal(6, result.Folds.Count);
        var aucs = result.Folds.Select(f => f.Validation[MetricNames.RocAuc]).ToArray();
        Assert.Equal(aucs.Average(), result.Validation[MetricNames.RocAuc].Mean, 9);
        Assert.True(result.Validation[MetricNames.RocAuc].StdDev > 0);
        // Known signal in this data: well above chance, below a perfect fit; training AUC above validation AUC.
        Assert.InRange(result.Validation[MetricNames.RocAuc].Mean, 0.70, 0.85);
        Assert.True(result.Train[MetricNames.RocAuc].Mean > result.Validation[MetricNames.RocAuc].Mean);
        // Out-of-fold predictions of the first repeat cover every row and reproduce the per-fold metrics' average.
        Assert.All(result.OutOfFold, p => Assert.InRange(p, 0f, 1f));
        var oofAuc = Evaluate.RocAuc(set.Labels, result.OutOfFold);
        Assert.InRange(oofAuc, result.Validation[MetricNames.RocAuc].Mean - 0.03, result.Validation[MetricNames.RocAuc].Mean + 0.03);
    }

    [Fact]
    public void Shuffled_cv_on_housing_beats_predicting_the_mean()
    {
        var set = LearnerTestData.Head(LearnerTestData.Housing, 4000);
        var result = CrossValidator.Run(new MlNetLearner(LearningTask.Regression, new LearnerOptions { Trainer = "lightgbm", NumberOfTrees = 50 }),
            set, new CrossValidationOptions { Folds = 3 });
        var mean = set.Labels.Average();
        var baseline = Math.Sqrt(set.Labels.Average(y => (y - mean) * (y - mean)));
        Assert.True(result.Validation[MetricNames.Rmse].Mean < 0.75 * baseline);
        Assert.InRange(result.Validation[MetricNames.R2].Mean, 0.4, 1.0);
    }

    [Fact]
    public void Multiclass_cv_runs_with_macro_f1_and_confusion_matrix()
    {
        // Three classes from credit default: no default, default with small limit, default with large limit.
        var head = LearnerTestData.Head(LearnerTestData.Credit, 2000);
        var labels = Enumerable.Range(0, head.Rows).Select(i => head.Labels[i] == 0 ? 0f : head.Row(i)[0] < 100_000 ? 1f : 2f).ToArray();
        var set = new TrainingSet(head.Features, head.FeatureCount, labels, head.FeatureNames);
        var result = CrossValidator.Run(new MlNetLearner(LearningTask.Multiclass, new LearnerOptions { Trainer = "lightgbm", NumberOfTrees = 20 }),
            set, new CrossValidationOptions { Folds = 3 });
        Assert.Equal(3, result.Folds[0].Validation.ConfusionMatrix!.Length);
        Assert.Equal(result.Folds[0].ValidationRows, result.Folds[0].Validation.ConfusionMatrix!.Sum(r => r.Sum()));
        // Out-of-fold probabilities are a distribution per row.
        for (var i = 0; i < set.Rows; i++) Assert.Equal(1.0, result.OutOfFold.AsSpan(i * 3, 3).ToArray().Sum(), 3);
        Assert.InRange(result.Validation[MetricNames.Accuracy].Mean, 0.5, 1.0);
    }

    [Fact]
    public void Multiclass_cv_keeps_every_class_when_a_training_fold_misses_the_last_one()
    {
        var head = LearnerTestData.Head(LearnerTestData.Credit, 900);
        var labels = head.Labels.ToArray();
        labels[17] = 2; // one row of the last class: two of the three training folds never see it
        var set = new TrainingSet(head.Features, head.FeatureCount, labels, head.FeatureNames);
        var learner = new MlNetLearner(LearningTask.Multiclass, new LearnerOptions { Trainer = "lightgbm", NumberOfTrees = 10, Classes = 3 });
        var result = CrossValidator.Run(learner, set, new CrossValidationOptions { Folds = 3 });
        Assert.Equal(set.Rows * 3, result.OutOfFold.Length);
        Assert.All(result.Folds, f => Assert.Equal(3, f.Validation.ConfusionMatrix!.Length));
        for (var i = 0; i < set.Rows; i++) Assert.Equal(1.0, result.OutOfFold.AsSpan(i * 3, 3).ToArray().Sum(), 3);
    }
}
