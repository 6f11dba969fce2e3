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

    [Theory]
    [InlineData("lightgbm")]
    [InlineData("lr")]
    public void Parallel_folds_give_the_same_folds_models_and_metrics_as_one_at_a_time(string trainer)
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 3000);
        var learner = new MlNetLearner(LearningTask.Binary, new LearnerOptions
        {
            Trainer = trainer, NumberOfTrees = 200, LearningRate = 0.1, NumberOfLeaves = 8, FeatureFraction = 0.7,
            EarlyStoppingRounds = trainer == "lightgbm" ? 10 : null, Threads = 1,
        });
        CrossValidationResult Run(int parallel) => CrossValidator.Run(learner, set, new CrossValidationOptions
        {
            Folds = 4, Repeats = 2, Seed = 5, Resampler = new Smote(5), ParallelFolds = parallel,
        });

        var serial = Run(1);
        foreach (var parallel in new[] { 2, 3 })
        {
            var result = Run(parallel);
            Assert.Equal(serial.FoldOfRow, result.FoldOfRow);
            Assert.Equal(serial.OutOfFold, result.OutOfFold);
            Assert.Equal(serial.Folds.Count, result.Folds.Count);
            for (var f = 0; f < serial.Folds.Count; f++)
            {
                var (expected, actual) = (serial.Folds[f], result.Folds[f]);
                Assert.Equal((expected.Repeat, expected.Fold, expected.TrainRows, expected.Trees), (actual.Repeat, actual.Fold, actual.TrainRows, actual.Trees));
                Assert.Equal(expected.ValidationRowIndices, actual.ValidationRowIndices);
                Assert.Equal(expected.ValidationPredictions, actual.ValidationPredictions);
                Assert.Equal(expected.Validation["roc_auc"], actual.Validation["roc_auc"]);
            }
            Assert.Equal(serial.Validation["roc_auc"].Mean, result.Validation["roc_auc"].Mean);
        }
    }

    [Fact]
    public void Parallel_folds_report_progress_once_per_fold_and_the_first_error()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 600);
        var calls = new List<(int Done, int Total)>();
        CrossValidator.Run(new MlNetLearner(LearningTask.Binary, new LearnerOptions { NumberOfTrees = 5, Threads = 1 }), set,
            new CrossValidationOptions { Folds = 5, ParallelFolds = 2, Progress = (done, total) => calls.Add((done, total)) });
        Assert.Equal(Enumerable.Range(1, 5).Select(d => (d, 5)), calls);

        var error = Assert.Throws<StreamMl.Engine.StreamMlException>(() => CrossValidator.Run(new FailingLearner(), set,
            new CrossValidationOptions { Folds = 3, ParallelFolds = 2 }));
        Assert.Equal("no fit here", error.Message);
    }

    private sealed class FailingLearner : ILearner
    {
        public LearningTask Task => LearningTask.Binary;
        public IFittedModel Fit(TrainingSet set) => throw new StreamMl.Engine.StreamMlException("no fit here");
    }

    [Theory]
    [InlineData(null, 5, 2, 1)]   // a fit uses every core: one fold at a time
    [InlineData(1, 5, 2, 2)]
    [InlineData(1, 5, 16, 5)]     // never more than the folds
    [InlineData(2, 5, 8, 4)]
    [InlineData(4, 5, 2, 1)]
    public void Auto_parallel_folds_fill_the_cores(int? threads, int folds, int cores, int expected) =>
        Assert.Equal(expected, CrossValidator.AutoParallelFolds(threads, folds, cores));
}
