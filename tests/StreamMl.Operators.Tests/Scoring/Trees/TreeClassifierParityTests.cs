using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

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
