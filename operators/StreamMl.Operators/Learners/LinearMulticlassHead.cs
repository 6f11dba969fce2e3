using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms;
using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>The weights of a multiclass linear model (trainer lr or sdca) as <c>softmax(x · Wᵀ + b)</c> on the raw
/// features, with the mean-variance normaliser folded in. Lets another graph carry the model as a Gemm and a
/// Softmax (the image classifier appends it to its backbone).</summary>
/// <param name="Weights">[classes, features], row-major.</param>
/// <param name="Biases">[classes].</param>
public sealed record LinearMulticlassHead(float[] Weights, float[] Biases)
{
    /// <summary>Reads the head out of a model fitted by <see cref="MlNetLearner"/> with a multiclass linear trainer;
    /// throws a <see cref="StreamMlException"/> for any other model.</summary>
    public static LinearMulticlassHead From(IFittedModel model)
    {
        if (model is not MlNetModel { Task: LearningTask.Multiclass } fitted)
            throw new StreamMlException("only a multiclass model trained with lr or sdca has a linear head");
        float[]? scale = null, offset = null;
        MaximumEntropyModelParameters? parameters = null;
        foreach (var transformer in (IEnumerable<ITransformer>)fitted.Transformer)
        {
            if (transformer is NormalizingTransformer normalizer
                && normalizer.GetNormalizerModelParameters(0) is NormalizingTransformer.AffineNormalizerModelParameters<System.Collections.Immutable.ImmutableArray<float>> affine)
            {
                scale = [.. affine.Scale];
                offset = affine.Offset.IsDefaultOrEmpty ? null : [.. affine.Offset];
            }
            if (transformer is MulticlassPredictionTransformer<MaximumEntropyModelParameters> predictor) parameters = predictor.Model;
        }
        if (parameters is null) throw new StreamMlException("only a multiclass model trained with lr or sdca has a linear head");

        VBuffer<float>[] rows = [];
        parameters.GetWeights(ref rows, out var classes);
        var width = rows[0].Length;
        var weights = new float[classes * width];
        var bias = parameters.GetBiases().ToArray();
        for (var c = 0; c < classes; c++)
        {
            var row = rows[c].DenseValues().ToArray();
            // The normaliser computes (x − offset) · scale, so W·((x − o)·s) + b = (W∘s)·x + (b − (W∘s)·o).
            for (var f = 0; f < width; f++)
            {
                var w = row[f] * (scale?[f] ?? 1f);
                weights[c * width + f] = w;
                if (offset is not null) bias[c] -= w * offset[f];
            }
        }
        return new LinearMulticlassHead(weights, bias);
    }
}
