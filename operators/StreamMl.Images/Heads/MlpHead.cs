using System.Numerics.Tensors;
using StreamMl.Engine;

namespace StreamMl.Images.Heads;

/// <summary>A one-hidden-layer classifier head on image embeddings: <c>softmax(W₂ · relu(W₁ · x + b₁) + b₂)</c>.
/// Trained with mini-batch Adam on the softmax cross-entropy of standardised inputs; the standardisation is then folded
/// into W₁ and b₁, so the head takes raw embeddings, as the ONNX graph (<see cref="Onnx.ImageModels.ClassifierWithMlp"/>)
/// does. ML.NET has no multilayer perceptron trainer, hence this code.</summary>
public sealed class MlpHead
{
    private MlpHead(int inputs, int hidden, int classes)
    {
        (Inputs, Hidden, Classes) = (inputs, hidden, classes);
        HiddenWeights = new float[hidden * inputs];
        HiddenBiases = new float[hidden];
        OutputWeights = new float[classes * hidden];
        OutputBiases = new float[classes];
    }

    /// <summary>Width of an embedding.</summary>
    public int Inputs { get; }

    /// <summary>Hidden units.</summary>
    public int Hidden { get; }

    /// <summary>Classes.</summary>
    public int Classes { get; }

    /// <summary>W₁ [hidden, inputs] row-major, standardisation folded in.</summary>
    public float[] HiddenWeights { get; }

    /// <summary>b₁ [hidden].</summary>
    public float[] HiddenBiases { get; }

    /// <summary>W₂ [classes, hidden] row-major.</summary>
    public float[] OutputWeights { get; }

    /// <summary>b₂ [classes].</summary>
    public float[] OutputBiases { get; }

    /// <summary>Trains a head on <paramref name="features"/> (rows × <paramref name="width"/>, row-major) with class
    /// indexes <paramref name="labels"/> in [0, <paramref name="classes"/>).</summary>
    public static MlpHead Train(ReadOnlySpan<float> features, int width, ReadOnlySpan<int> labels, int classes, MlpHeadOptions? options = null)
    {
        options ??= new MlpHeadOptions();
        var rows = labels.Length;
        if (rows == 0 || features.Length != rows * width)
            throw new StreamMlException($"the MLP head needs rows × {width} features; got {features.Length} values for {rows} labels");
        foreach (var label in labels)
            if ((uint)label >= (uint)classes) throw new StreamMlException($"label {label} is outside the {classes} classes");
        var head = new MlpHead(width, options.Hidden, classes);
        var (mean, scale) = Standardisation(features, width, rows);
        var x = new float[rows * width];
        for (var r = 0; r < rows; r++)
            for (var j = 0; j < width; j++) x[r * width + j] = (features[r * width + j] - mean[j]) * scale[j];

        var trainer = new Trainer(head, options);
        var random = new Random(options.Seed);
        trainer.Initialise(random);
        var order = Enumerable.Range(0, rows).ToArray();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (var start = 0; start < rows; start += options.BatchSize)
                trainer.Step(x, labels, order.AsSpan(start, Math.Min(options.BatchSize, rows - start)));
        }

        // Fold the standardisation into the first layer: W₁·((x − μ)·s) + b₁ = (W₁·diag(s))·x + (b₁ − W₁·(μ·s)).
        for (var h = 0; h < head.Hidden; h++)
        {
            var row = head.HiddenWeights.AsSpan(h * width, width);
            double shift = 0;
            for (var j = 0; j < width; j++)
            {
                shift += row[j] * mean[j] * scale[j];
                row[j] *= scale[j];
            }
            head.HiddenBiases[h] -= (float)shift;
        }
        return head;
    }

    /// <summary>Class probabilities of each row of <paramref name="features"/> into <paramref name="probabilities"/>
    /// (rows × classes), in float as ONNX Runtime computes the graph.</summary>
    public void Predict(ReadOnlySpan<float> features, Span<float> probabilities)
    {
        var rows = features.Length / Inputs;
        var hidden = new float[Hidden];
        for (var r = 0; r < rows; r++)
            Forward(features.Slice(r * Inputs, Inputs), hidden, probabilities.Slice(r * Classes, Classes));
    }

    /// <summary>Class probabilities of each row, rows × classes.</summary>
    public float[] Predict(ReadOnlySpan<float> features)
    {
        var probabilities = new float[features.Length / Inputs * Classes];
        Predict(features, probabilities);
        return probabilities;
    }

    private void Forward(ReadOnlySpan<float> x, Span<float> hidden, Span<float> probabilities)
    {
        for (var h = 0; h < Hidden; h++)
            hidden[h] = Math.Max(0f, TensorPrimitives.Dot(HiddenWeights.AsSpan(h * Inputs, Inputs), x) + HiddenBiases[h]);
        for (var c = 0; c < Classes; c++)
            probabilities[c] = TensorPrimitives.Dot(OutputWeights.AsSpan(c * Hidden, Hidden), hidden) + OutputBiases[c];
        TensorPrimitives.SoftMax(probabilities, probabilities);
    }

    private static (float[] Mean, float[] Scale) Standardisation(ReadOnlySpan<float> features, int width, int rows)
    {
        var mean = new double[width];
        var square = new double[width];
        for (var r = 0; r < rows; r++)
            for (var j = 0; j < width; j++)
            {
                double v = features[r * width + j];
                mean[j] += v;
                square[j] += v * v;
            }
        var m = new float[width];
        var s = new float[width];
        for (var j = 0; j < width; j++)
        {
            m[j] = (float)(mean[j] / rows);
            var variance = Math.Max(0, square[j] / rows - m[j] * (double)m[j]);
            s[j] = variance > 1e-12 ? (float)(1 / Math.Sqrt(variance)) : 1f;
        }
        return (m, s);
    }

    /// <summary>Adam on the parameters of a head (in the standardised input space while training).</summary>
    private sealed class Trainer(MlpHead head, MlpHeadOptions options)
    {
        private readonly float[][] _parameters = [head.HiddenWeights, head.HiddenBiases, head.OutputWeights, head.OutputBiases];
        private readonly float[][] _gradients = [new float[head.HiddenWeights.Length], new float[head.Hidden], new float[head.OutputWeights.Length], new float[head.Classes]];
        private readonly float[][] _first = [new float[head.HiddenWeights.Length], new float[head.Hidden], new float[head.OutputWeights.Length], new float[head.Classes]];
        private readonly float[][] _second = [new float[head.HiddenWeights.Length], new float[head.Hidden], new float[head.OutputWeights.Length], new float[head.Classes]];
        private readonly float[] _hidden = new float[head.Hidden];
        private readonly float[] _hiddenGradient = new float[head.Hidden];
        private readonly float[] _output = new float[head.Classes];
        private int _steps;

        public void Initialise(Random random)
        {
            // He initialisation for the ReLU layer, Glorot-like for the softmax layer; biases start at 0.
            Gaussian(random, head.HiddenWeights, Math.Sqrt(2.0 / head.Inputs));
            Gaussian(random, head.OutputWeights, Math.Sqrt(1.0 / head.Hidden));
        }

        private static void Gaussian(Random random, float[] values, double sigma)
        {
            for (var i = 0; i < values.Length; i++)
                values[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        public void Step(float[] x, ReadOnlySpan<int> labels, ReadOnlySpan<int> batch)
        {
            foreach (var gradient in _gradients) Array.Clear(gradient);
            var (inputs, hiddenUnits, classes) = (head.Inputs, head.Hidden, head.Classes);
            foreach (var row in batch)
            {
                var input = x.AsSpan(row * inputs, inputs);
                head.Forward(input, _hidden, _output);
                // d(cross-entropy)/d(logits) = p − onehot(label), averaged over the batch.
                _output[labels[row]] -= 1;
                TensorPrimitives.Multiply(_output, 1f / batch.Length, _output);
                Array.Clear(_hiddenGradient);
                for (var c = 0; c < classes; c++)
                {
                    var weights = head.OutputWeights.AsSpan(c * hiddenUnits, hiddenUnits);
                    var gradient = _gradients[2].AsSpan(c * hiddenUnits, hiddenUnits);
                    TensorPrimitives.MultiplyAdd(_hidden, _output[c], gradient, gradient);
                    TensorPrimitives.MultiplyAdd(weights, _output[c], _hiddenGradient, _hiddenGradient);
                    _gradients[3][c] += _output[c];
                }
                for (var h = 0; h < hiddenUnits; h++)
                {
                    if (_hidden[h] <= 0) continue; // ReLU passes no gradient where it is off
                    var gradient = _gradients[0].AsSpan(h * inputs, inputs);
                    TensorPrimitives.MultiplyAdd(input, _hiddenGradient[h], gradient, gradient);
                    _gradients[1][h] += _hiddenGradient[h];
                }
            }
            var decay = (float)options.L2;
            TensorPrimitives.MultiplyAdd(head.HiddenWeights, decay, _gradients[0], _gradients[0]);
            TensorPrimitives.MultiplyAdd(head.OutputWeights, decay, _gradients[2], _gradients[2]);
            Adam();
        }

        private void Adam()
        {
            const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
            _steps++;
            var rate = (float)(options.LearningRate * Math.Sqrt(1 - Math.Pow(beta2, _steps)) / (1 - Math.Pow(beta1, _steps)));
            for (var p = 0; p < _parameters.Length; p++)
            {
                var (values, gradient, first, second) = (_parameters[p], _gradients[p], _first[p], _second[p]);
                for (var i = 0; i < values.Length; i++)
                {
                    var g = gradient[i];
                    first[i] = (float)(beta1 * first[i] + (1 - beta1) * g);
                    second[i] = (float)(beta2 * second[i] + (1 - beta2) * g * g);
                    values[i] -= rate * first[i] / (MathF.Sqrt(second[i]) + (float)epsilon);
                }
            }
        }
    }
}
