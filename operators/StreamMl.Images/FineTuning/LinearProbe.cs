using System.Numerics.Tensors;

namespace StreamMl.Images.FineTuning;

/// <summary>A softmax regression on frozen embeddings (full-batch gradient descent with momentum and a step of
/// 1/L, L bounding the loss's curvature), used to start the head before the blocks are unfrozen.</summary>
internal static class LinearProbe
{
    /// <summary>Weights [classes, width] and biases fitted to <paramref name="embeddings"/> and <paramref name="labels"/>.</summary>
    public static (float[] Weights, float[] Bias) Fit(IReadOnlyList<float[]> embeddings, IReadOnlyList<int> labels, int classes,
        int iterations = 300, double l2 = 1e-3)
    {
        var n = embeddings.Count;
        var width = embeddings[0].Length;
        var weights = new float[classes * width];
        var bias = new float[classes];
        var velocityW = new float[weights.Length];
        var velocityB = new float[classes];
        var gradW = new float[weights.Length];
        var gradB = new float[classes];
        var meanSquaredNorm = embeddings.Average(e => (double)TensorPrimitives.Dot(e, e));
        var step = (float)(1.0 / (0.5 * (meanSquaredNorm + 1) + l2));
        var logits = new float[classes];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            Array.Clear(gradW);
            Array.Clear(gradB);
            for (var r = 0; r < n; r++)
            {
                var x = embeddings[r];
                for (var k = 0; k < classes; k++) logits[k] = TensorPrimitives.Dot(x, weights.AsSpan(k * width, width)) + bias[k];
                TensorPrimitives.SoftMax(logits, logits);
                logits[labels[r]] -= 1f;
                for (var k = 0; k < classes; k++)
                {
                    var g = logits[k] / n;
                    gradB[k] += g;
                    var row = gradW.AsSpan(k * width, width);
                    TensorPrimitives.MultiplyAdd(x, g, row, row);
                }
            }
            for (var i = 0; i < weights.Length; i++)
            {
                velocityW[i] = 0.9f * velocityW[i] + gradW[i] + (float)l2 * weights[i];
                weights[i] -= step * velocityW[i];
            }
            for (var k = 0; k < classes; k++)
            {
                velocityB[k] = 0.9f * velocityB[k] + gradB[k];
                bias[k] -= step * velocityB[k];
            }
        }
        return (weights, bias);
    }
}
