using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Operators.Tests.Scoring;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>Every tree model ML.NET trains here (LightGBM, FastTree, FastForest; binary and regression), exported
/// with the ONNX converter, scored by ONNX Runtime and by the engine's tree evaluator on the same credit rows, with
/// and without missing values: every output within 1e-6 relative.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class TreeEvaluatorParityTests(CreditModels credit)
{
    public static TheoryData<string> Models => new()
    {
        "binary-lightgbm", "binary-fasttree", "binary-fastforest",
        "regression-lightgbm", "regression-fasttree", "regression-fastforest",
    };

    private static readonly Dictionary<string, byte[]> s_models = [];

    private byte[] Train(string name)
    {
        lock (s_models)
        {
            if (s_models.TryGetValue(name, out var cached)) return cached;
            var ml = credit.Ml;
            var binary = ml.BinaryClassification.Trainers;
            var regression = ml.Regression.Trainers;
            IEstimator<ITransformer> trainer = name switch
            {
                "binary-lightgbm" => binary.LightGbm(numberOfLeaves: 31, numberOfIterations: 40),
                "binary-fasttree" => binary.FastTree(numberOfLeaves: 16, numberOfTrees: 40),
                "binary-fastforest" => binary.FastForest(numberOfLeaves: 16, numberOfTrees: 20),
                "regression-lightgbm" => regression.LightGbm(numberOfLeaves: 31, numberOfIterations: 40),
                "regression-fasttree" => regression.FastTree(numberOfLeaves: 16, numberOfTrees: 40),
                _ => regression.FastForest(numberOfLeaves: 16, numberOfTrees: 20),
            };
            var data = credit.TrainingData;
            string[] outputs = ["Score", "Probability", "PredictedLabel"];
            if (name.StartsWith("regression", StringComparison.Ordinal))
            {
                // Regress the first feature column's neighbour (a continuous target) on all features.
                data = ml.Transforms.Conversion.ConvertType("Label", outputKind: DataKind.Single).Fit(data).Transform(data);
                outputs = ["Score"];
            }
            var model = trainer.Fit(data);
            using var stream = new MemoryStream();
            ml.Model.ConvertToOnnx(model, data, stream, outputs);
            return s_models[name] = stream.ToArray();
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Evaluator_equals_OnnxRuntime_on_the_credit_rows(string name) => Check(name, missingEvery: 0);

    [Theory]
    [MemberData(nameof(Models))]
    public void Evaluator_equals_OnnxRuntime_with_missing_values(string name) => Check(name, missingEvery: 7);

    private void Check(string name, int missingEvery)
    {
        var onnx = Train(name);
        var width = credit.Features.FeatureCount;
        var rows = CreditModels.Rows;
        var matrix = credit.Matrix.ToArray();
        if (missingEvery > 0)
            for (var i = 0; i < matrix.Length; i += missingEvery) matrix[i] = float.NaN;
        var expected = TreeParity.OrtRun(onnx, matrix, rows, width);
        var actual = TreeParity.TreeRun(onnx, matrix, rows, width, out var reason);
        Assert.True(actual is not null, $"the evaluator declined {name}: {reason}");
        var (worst, where) = TreeParity.Compare(expected, actual!);
        Assert.True(worst <= TreeParity.Tolerance, $"{name}: relative difference {worst:E2} at {where}");
    }
}
