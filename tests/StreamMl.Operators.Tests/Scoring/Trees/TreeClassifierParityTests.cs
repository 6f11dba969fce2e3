using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>Binary TreeEnsembleClassifier models (leaves voting for class 0, as ONNX converters write LightGBM and
/// gradient-boosting classifiers): FsCheck-generated ensembles with every split mode, missing-value directions, mixed or
/// non-negative leaf weights, and each post transform, scored by ONNX Runtime and by the engine's evaluator on inputs with
/// NaN, infinities and values equal to thresholds. The label (int64) must be equal and the two class scores within 1e-6
/// relative; classifiers outside that shape are left to ONNX Runtime.</summary>
public sealed class TreeClassifierParityTests
{
    private static readonly string[] s_postTransforms = ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"];

    private static (byte[] Onnx, float[] Matrix, int Rows) Generate(int seed, int features, int trees, int depth, bool mixedModes, bool positive, string post)
    {
        var random = new Random(seed);
        var ensemble = RandomEnsemble.Generate(random, features, trees, depth, mixedModes);
        if (positive)
            for (var i = 0; i < ensemble.TargetWeights.Count; i++) ensemble.TargetWeights[i] = Math.Abs(ensemble.TargetWeights[i]) / trees;
        long[] labels = random.Next(2) == 0 ? [0, 1] : [-3, 7];
        const int rows = 300;
        var matrix = new float[rows * features];
        for (var i = 0; i < matrix.Length; i++)
        {
            matrix[i] = random.Next(10) switch
            {
                0 => float.NaN,
                1 => random.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                < 6 => RandomEnsemble.GridValue(random),
                _ => (float)(random.NextDouble() * 8 - 4),
            };
        }
        return (ensemble.ToClassifierOnnx(post, labels), matrix, rows);
    }

    private static bool Agrees(int seed, int features, int trees, int depth, bool positive, int post)
    {
        var (onnx, matrix, rows) = Generate(seed, features, trees, depth, mixedModes: true, positive, s_postTransforms[post]);
        var expected = TreeParity.OrtRun(onnx, matrix, rows, features);
        var actual = TreeParity.TreeRun(onnx, matrix, rows, features, out var reason);
        if (actual is null) throw new InvalidOperationException($"the evaluator declined a generated classifier: {reason}");
        if (!expected[0].SequenceEqual(actual[0]))
            throw new InvalidOperationException($"seed {seed}: labels differ at row {expected[0].Zip(actual[0]).TakeWhile(p => p.First == p.Second).Count()}");
        var (worst, where) = TreeParity.Compare(expected, actual);
        if (worst > TreeParity.Tolerance) throw new InvalidOperationException($"seed {seed} ({s_postTransforms[post]}, positive {positive}): relative difference {worst:E2} at {where}");
        return true;
    }

    [Property(MaxTest = 60)]
    public Property Random_binary_classifiers_equal_OnnxRuntime(PositiveInt seed) =>
        // The third draw packs depth (0-6), non-negative weights (0/1) and the post transform (0-3).
        Prop.ForAll(Gen.Choose(1, 9).ToArbitrary(), Gen.Choose(1, 12).ToArbitrary(), Gen.Choose(0, 7 * 2 * 4 - 1).ToArbitrary(),
            (features, trees, shape) => Agrees(seed.Get, features, trees, shape % 7, shape / 7 % 2 == 1, shape / 14));

    /// <summary>Through the scorer: the int64 label column and the two class-score columns written from the evaluator
    /// equal those written from ONNX Runtime, over a batch that ends in a partial group of eight rows.</summary>
    [Theory]
    [InlineData("LOGISTIC", false)]
    [InlineData("NONE", true)]
    public void The_scorer_writes_a_classifiers_label_and_class_scores_as_OnnxRuntime_does(string post, bool positive)
    {
        const int features = 5;
        var (onnx, matrix, rows) = Generate(17, features, 20, 5, mixedModes: true, positive, post);
        using var model = OnnxModel.FromBytes(onnx, "classifier");
        var names = Enumerable.Range(0, features).Select(f => $"f{f}").ToArray();
        var input = new Schema(names.Select(n => new Field(n, ColumnType.Float32)));
        (long[] Labels, float[] First, float[] Second, bool Own) Score(TreeEvaluator evaluator)
        {
            using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = names, TreeEvaluator = evaluator });
            using var batch = new ColumnBatch(scorer.Bind(input), 512);
            for (var f = 0; f < features; f++)
                for (var r = 0; r < rows - 3; r++) batch[f].Values<float>()[r] = matrix[r * features + f];
            batch.Length = rows - 3;
            scorer.Score(batch);
            return (batch["label"].Values<long>()[..batch.Length].ToArray(), batch["probabilities_0"].Values<float>()[..batch.Length].ToArray(),
                batch["probabilities_1"].Values<float>()[..batch.Length].ToArray(), scorer.UsesTreeEvaluator(model));
        }
        var ort = Score(TreeEvaluator.Ort);
        var own = Score(TreeEvaluator.Auto);
        Assert.True(own.Own, "Auto did not choose the tree evaluator for the classifier");
        Assert.False(ort.Own);
        Assert.Equal(ort.Labels, own.Labels);
        if (!positive) Assert.Contains(ort.Labels, l => l != ort.Labels[0]);
        var (worst, where) = TreeParity.Compare([[.. ort.First.Select(x => (double)x)], [.. ort.Second.Select(x => (double)x)]],
            [[.. own.First.Select(x => (double)x)], [.. own.Second.Select(x => (double)x)]]);
        Assert.True(worst <= TreeParity.Tolerance, where);
    }

    [Theory]
    [InlineData("PROBIT", "post_transform PROBIT")]
    [InlineData("NONE", "vote for class 1")]
    public void Other_classifiers_are_left_to_OnnxRuntime(string post, string because)
    {
        var random = new Random(5);
        var ensemble = RandomEnsemble.Generate(random, 3, 5, 3, mixedModes: false);
        var onnx = ensemble.ToClassifierOnnx(post, [0, 1]);
        if (because.Contains("class 1", StringComparison.Ordinal))
        {
            // A forest voting per class: the writer's class ids are all 0, so give the last leaf a vote for class 1.
            onnx = ensemble.ToClassifierOnnx(post, [0, 1], lastVoteClass: 1);
        }
        Assert.Null(TreeParity.TreeRun(onnx, new float[30], 10, 3, out var reason));
        Assert.Contains(because, reason);
    }
}
