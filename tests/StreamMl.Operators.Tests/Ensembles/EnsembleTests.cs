using StreamMl.Operators.Ensembles;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Tests.Learners;

namespace StreamMl.Operators.Tests.Ensembles;

public sealed class EnsembleTests
{
    private static readonly LearnerOptions s_lightGbm = new() { Trainer = "lightgbm", NumberOfTrees = 40, NumberOfLeaves = 8, MinimumExampleCountPerLeaf = 20, Threads = 1 };
    private static readonly LearnerOptions s_lr = new() { Trainer = "lr", Threads = 1 };
    private static readonly LearnerOptions s_fastTree = new() { Trainer = "fasttree", NumberOfTrees = 30, NumberOfLeaves = 8 };

    private static TrainingSet Credit(int rows) => LearnerTestData.Head(LearnerTestData.Credit, rows);

    private static ILearner[] Members(LearningTask task, params LearnerOptions[] options) =>
        options.Select(o => (ILearner)new MlNetLearner(task, o)).ToArray();

    private static float[] OnnxPredictions(IFittedModel model, TrainingSet set)
    {
        using var buffer = new MemoryStream();
        model.ExportOnnx(buffer);
        using var onnx = OnnxMatrixModel.Load(buffer.ToArray(), "ensemble");
        return onnx.Predict(set, model.Task);
    }

    [Theory]
    [InlineData(EnsembleMethod.Average)]
    [InlineData(EnsembleMethod.Stack)]
    public void Binary_ensemble_exports_one_graph_that_onnx_runtime_scores_as_the_in_memory_computation(EnsembleMethod method)
    {
        var set = Credit(3000);
        var train = set.Subset(Enumerable.Range(0, 2400).ToArray());
        var test = set.Subset(Enumerable.Range(2400, 600).ToArray());
        var model = (EnsembleModel)new EnsembleLearner(Members(LearningTask.Binary, s_lightGbm, s_lr, s_fastTree),
            new EnsembleOptions { Method = method, StackFolds = 3 }).Fit(train);

        // The combination recomputed here from the members' own predictions, in double.
        var members = model.Members.Select(m => m.Predict(test)).ToArray();
        var expected = new double[test.Rows];
        for (var r = 0; r < test.Rows; r++)
        {
            if (method == EnsembleMethod.Average)
            {
                expected[r] = members.Average(p => (double)p[r]);
                continue;
            }
            var z = (double)model.Stacker!.Bias;
            for (var m = 0; m < members.Length; m++)
            {
                var q = Math.Clamp(members[m][r], 1e-6, 1 - 1e-6);
                z += model.Stacker.Weights[m] * Math.Log(q / (1 - q));
            }
            expected[r] = 1 / (1 + Math.Exp(-z));
        }
        var inMemory = model.Predict(test);
        var onnx = OnnxPredictions(model, test);
        Assert.Equal(test.Rows, onnx.Length);
        for (var r = 0; r < test.Rows; r++)
        {
            Assert.Equal(expected[r], inMemory[r], 1e-5);
            Assert.True(Math.Abs(onnx[r] - inMemory[r]) <= 1e-5, $"row {r}: onnx {onnx[r]} in memory {inMemory[r]}");
        }
    }

    [Fact]
    public void Regression_average_exports_one_graph_within_1e5()
    {
        var set = LearnerTestData.Head(LearnerTestData.Housing, 2000);
        var model = new EnsembleLearner(Members(LearningTask.Regression, s_lightGbm, s_fastTree with { }, new LearnerOptions { Trainer = "fastforest", NumberOfTrees = 20 }))
            .Fit(set.Subset(Enumerable.Range(0, 1500).ToArray()));
        var test = set.Subset(Enumerable.Range(1500, 500).ToArray());
        var inMemory = model.Predict(test);
        var onnx = OnnxPredictions(model, test);
        for (var r = 0; r < test.Rows; r++)
            Assert.True(Math.Abs(onnx[r] - inMemory[r]) <= 1e-5 * Math.Max(1, Math.Abs(inMemory[r])), $"row {r}: onnx {onnx[r]} in memory {inMemory[r]}");
    }

    [Fact]
    public void The_stacker_learns_from_out_of_fold_predictions_only()
    {
        var set = Credit(3000);
        var learner = new EnsembleLearner([new MlNetLearner(LearningTask.Binary, s_lr), new Memoriser()],
            new EnsembleOptions { Method = EnsembleMethod.Stack, StackFolds = 5 });

        // Every out-of-fold prediction of the memoriser is one for a row it never saw (its guesses lie in 0.3..0.7; a row
        // it was fitted on gets 0.02 or 0.98).
        var outOfFold = learner.OutOfFold(set);
        for (var r = 0; r < set.Rows; r++) Assert.InRange(outOfFold[r * 2 + 1], 0.3f, 0.7f);

        var stacker = ((EnsembleModel)learner.Fit(set)).Stacker!;
        Assert.True(Math.Abs(stacker.Weights[1]) < 0.2, $"memoriser weight {stacker.Weights[1]}");
        Assert.True(stacker.Weights[0] > 0.5, $"logistic regression weight {stacker.Weights[0]}");

        // The reference leak: a stacker fitted on in-fold predictions (each member predicting the rows it was fitted on)
        // trusts the memoriser over the honest model; the test above would fail for such a stacker.
        var inFold = new float[set.Rows * 2];
        var lr = new MlNetLearner(LearningTask.Binary, s_lr).Fit(set).Predict(set);
        var memorised = new Memoriser().Fit(set).Predict(set);
        for (var r = 0; r < set.Rows; r++) { inFold[r * 2] = lr[r]; inFold[r * 2 + 1] = memorised[r]; }
        var leaky = LogisticStacker.Fit(inFold, 2, set.Labels, null, learner.Options.StackerL2);
        Assert.True(leaky.Weights[1] > 1 && leaky.Weights[1] > Math.Abs(leaky.Weights[0]), $"leaky weights {leaky.Weights[0]}, {leaky.Weights[1]}");

        // Cross-validated, the honest stack is as good as its honest member.
        var options = new CrossValidationOptions { Folds = 4, Seed = 7 };
        var stacked = CrossValidator.Run(learner, set, options).Validation["roc_auc"].Mean;
        var alone = CrossValidator.Run(new MlNetLearner(LearningTask.Binary, s_lr), set, options).Validation["roc_auc"].Mean;
        Assert.True(stacked > alone - 0.01, $"stack {stacked:F4}, logistic regression alone {alone:F4}");
    }

    [Fact]
    public void The_stacker_minimises_the_penalised_log_loss()
    {
        var random = new Random(11);
        const int rows = 2000, members = 3;
        var probabilities = new float[rows * members];
        var labels = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = random.Next(2);
            for (var m = 0; m < members; m++)
            {
                var signal = (labels[r] - 0.5) * (m + 1) + random.NextDouble() * 3 - 1.5;
                probabilities[r * members + m] = (float)(1 / (1 + Math.Exp(-signal)));
            }
        }
        const double l2 = 1e-3;
        var stacker = LogisticStacker.Fit(probabilities, members, labels, null, l2);
        // Gradient of Σ log-loss + ½·l2·rows·|w|² at the fitted point, computed here: zero at the minimum.
        var gradient = new double[members + 1];
        for (var r = 0; r < rows; r++)
        {
            var x = Enumerable.Range(0, members).Select(m => (double)LogisticStacker.Logit(probabilities[r * members + m])).ToArray();
            var z = stacker.Bias + x.Select((v, m) => v * stacker.Weights[m]).Sum();
            var residual = 1 / (1 + Math.Exp(-z)) - labels[r];
            for (var m = 0; m < members; m++) gradient[m] += residual * x[m];
            gradient[members] += residual;
        }
        for (var m = 0; m < members; m++) gradient[m] += l2 * rows * stacker.Weights[m];
        foreach (var g in gradient) Assert.True(Math.Abs(g) < 1e-2, $"gradient {string.Join(", ", gradient)}");
        Assert.True(stacker.Weights[2] > stacker.Weights[0], "the most informative member weighs most");
    }

    [Fact]
    public void Stacking_a_regression_target_is_refused_with_a_clear_message()
    {
        var e = Assert.Throws<StreamMl.Engine.StreamMlException>(() =>
            new EnsembleLearner(Members(LearningTask.Regression, s_lightGbm, s_fastTree), new EnsembleOptions { Method = EnsembleMethod.Stack }));
        Assert.Contains("stacking needs a binary target", e.Message);
    }

    /// <summary>Remembers the label of every row it is fitted on (0.02 or 0.98) and guesses 0.3..0.7 for any other row:
    /// perfect in fold, useless out of fold.</summary>
    private sealed class Memoriser : ILearner
    {
        public LearningTask Task => LearningTask.Binary;

        public IFittedModel Fit(TrainingSet set)
        {
            var seen = new Dictionary<int, float>();
            for (var r = 0; r < set.Rows; r++) seen[set.RowIds[r]] = set.Labels[r] > 0.5f ? 0.98f : 0.02f;
            return new Model(seen);
        }

        /// <summary>Rows are known by their id (their position in the source), which subsets keep.</summary>
        private sealed class Model(Dictionary<int, float> seen) : IFittedModel
        {
            public LearningTask Task => LearningTask.Binary;
            public int Classes => 2;
            public float[] Predict(TrainingSet set) => Enumerable.Range(0, set.Rows)
                .Select(r => seen.TryGetValue(set.RowIds[r], out var p) ? p : 0.3f + 0.4f * (set.RowIds[r] * 7919 % 1000 / 1000f))
                .ToArray();
            public void ExportOnnx(Stream stream) => throw new NotSupportedException();
        }
    }
}
