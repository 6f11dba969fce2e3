using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>FsCheck-generated ensembles (every split mode, missing-value directions, shuffled node order, gaps in tree
/// ids, leaves with several weights, base values, SUM and AVERAGE), written as ONNX and scored by ONNX Runtime and by
/// the engine's evaluator on inputs with NaN, infinities and values equal to thresholds: within 1e-6 relative.</summary>
public sealed class RandomEnsembleParityTests
{
    private static bool Agrees(int seed, int features, int trees, int depth, bool mixedModes)
    {
        var random = new Random(seed);
        var ensemble = RandomEnsemble.Generate(random, features, trees, depth, mixedModes);
        var onnx = ensemble.ToOnnx();
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
        var expected = TreeParity.OrtRun(onnx, matrix, rows, features);
        var actual = TreeParity.TreeRun(onnx, matrix, rows, features, out var reason);
        if (actual is null) throw new InvalidOperationException($"the evaluator declined a generated ensemble: {reason}");
        var (worst, where) = TreeParity.Compare(expected, actual);
        if (worst > TreeParity.Tolerance) throw new InvalidOperationException($"seed {seed}: relative difference {worst:E2} at {where}");
        return true;
    }

    [Fact]
    public void A_leaf_with_several_weights_is_left_to_OnnxRuntime()
    {
        var random = new Random(11);
        var ensemble = RandomEnsemble.Generate(random, 3, 20, 4, mixedModes: false, multiWeights: true);
        Assert.True(ensemble.TargetTrees.Count > ensemble.Modes.Count(m => m == "LEAF"), "the generator gave no leaf a second weight");
        var matrix = new float[30];
        Assert.Null(TreeParity.TreeRun(ensemble.ToOnnx(), matrix, 10, 3, out var reason));
        Assert.Contains("several weights", reason);
    }

    [Property(MaxTest = 60)]
    public Property Random_ensembles_with_every_split_mode_equal_OnnxRuntime(PositiveInt seed) =>
        Prop.ForAll(Gen.Choose(1, 9).ToArbitrary(), Gen.Choose(1, 12).ToArbitrary(), Gen.Choose(0, 7).ToArbitrary(),
            (features, trees, depth) => Agrees(seed.Get, features, trees, depth, mixedModes: true));

    [Property(MaxTest = 40)]
    public Property Random_LEQ_ensembles_equal_OnnxRuntime(PositiveInt seed) =>
        Prop.ForAll(Gen.Choose(1, 9).ToArbitrary(), Gen.Choose(1, 30).ToArbitrary(), Gen.Choose(0, 8).ToArbitrary(),
            (features, trees, depth) => Agrees(seed.Get, features, trees, depth, mixedModes: false));
}
