using System.Numerics.Tensors;

namespace StreamMl.Images.FineTuning;

/// <summary>The trainable end of the network: ResNet basic blocks on a cached feature map, global average pooling
/// and a linear head, with the softmax cross-entropy loss and its backward pass. Feature maps arrive per image as
/// [channels, height, width] and are packed into the blocks' [channels, batch, height, width] layout.</summary>
internal sealed class StageNetwork
{
    private readonly BasicBlock[] _blocks;
    private float[] _input = [];
    private float[] _pooled = [];
    private float[] _logits = [];
    private float[] _gradLogits = [];
    private float[] _gradPooled = [];
    private float[][] _gradMaps = [];
    private int _batch;

    /// <summary>Creates the network; <paramref name="headWeights"/> is [classes, channels of the last block].</summary>
    public StageNetwork(IReadOnlyList<BasicBlock> blocks, int channels, int height, int width, float[] headWeights, float[] headBias)
    {
        _blocks = [.. blocks];
        (Channels, Height, Width) = (channels, height, width);
        Classes = headBias.Length;
        Embedding = _blocks.Length == 0 ? channels : _blocks[^1].Conv2.Outputs;
        if (headWeights.Length != Classes * Embedding)
            throw new ArgumentException($"the head has {headWeights.Length} weights for {Classes} classes × {Embedding} features");
        HeadWeights = new Parameter("head_weights", headWeights, Decays: true);
        HeadBias = new Parameter("head_biases", headBias, Decays: false);
    }

    public IReadOnlyList<BasicBlock> Blocks => _blocks;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Classes { get; }
    public int Embedding { get; }
    public int FeatureLength => Channels * Height * Width;
    public Parameter HeadWeights { get; }
    public Parameter HeadBias { get; }

    /// <summary>The pooled embeddings of the last forward pass, [batch, Embedding].</summary>
    public ReadOnlySpan<float> Pooled => _pooled.AsSpan(0, _batch * Embedding);

    public IEnumerable<Parameter> Parameters()
    {
        foreach (var block in _blocks)
            foreach (var parameter in block.Parameters()) yield return parameter;
        yield return HeadWeights;
        yield return HeadBias;
    }

    /// <summary>Logits [batch, Classes] (reused buffer) of the feature maps <paramref name="maps"/>, each [C, H, W].</summary>
    public ReadOnlySpan<float> Forward(IReadOnlyList<float[]> maps)
    {
        _batch = maps.Count;
        var batch = _batch;
        var plane = Height * Width;
        Conv2d.Ensure(ref _input, FeatureLength * batch);
        for (var b = 0; b < batch; b++)
        {
            var map = maps[b];
            if (map.Length != FeatureLength) throw new ArgumentException($"a feature map has {map.Length} values, not {FeatureLength}");
            for (var c = 0; c < Channels; c++) map.AsSpan(c * plane, plane).CopyTo(_input.AsSpan((c * batch + b) * plane, plane));
        }

        var current = _input;
        int h = Height, w = Width;
        foreach (var block in _blocks)
        {
            current = block.Forward(current, batch, h, w);
            (h, w) = (block.OutputHeight, block.OutputWidth);
        }
        _lastPlane = h * w;

        Conv2d.Ensure(ref _pooled, batch * Embedding);
        for (var c = 0; c < Embedding; c++)
            for (var b = 0; b < batch; b++)
                _pooled[b * Embedding + c] = TensorPrimitives.Sum(current.AsSpan((c * batch + b) * _lastPlane, _lastPlane)) / _lastPlane;

        Conv2d.Ensure(ref _logits, batch * Classes);
        for (var b = 0; b < batch; b++)
        {
            var embedding = _pooled.AsSpan(b * Embedding, Embedding);
            for (var k = 0; k < Classes; k++)
                _logits[b * Classes + k] = TensorPrimitives.Dot(embedding, HeadWeights.Value.AsSpan(k * Embedding, Embedding)) + HeadBias.Value[k];
        }
        return _logits.AsSpan(0, batch * Classes);
    }

    private int _lastPlane;

    /// <summary>Mean softmax cross-entropy of the last forward pass against <paramref name="labels"/>; also prepares
    /// the gradient of that loss with respect to the logits.</summary>
    public double Loss(IReadOnlyList<int> labels)
    {
        var batch = _batch;
        Conv2d.Ensure(ref _gradLogits, batch * Classes);
        double loss = 0;
        for (var b = 0; b < batch; b++)
        {
            var logits = _logits.AsSpan(b * Classes, Classes);
            var grad = _gradLogits.AsSpan(b * Classes, Classes);
            var max = TensorPrimitives.Max(logits);
            double total = 0;
            for (var k = 0; k < Classes; k++) total += Math.Exp(logits[k] - max);
            for (var k = 0; k < Classes; k++) grad[k] = (float)(Math.Exp(logits[k] - max) / total / batch);
            grad[labels[b]] -= 1f / batch;
            loss -= logits[labels[b]] - max - Math.Log(total);
        }
        return loss / batch;
    }

    /// <summary>Zeroes every parameter's gradient.</summary>
    public void ZeroGradients()
    {
        foreach (var parameter in Parameters()) Array.Clear(parameter.Gradient);
    }

    /// <summary>Adds to the parameters' gradients those of the last <see cref="Loss"/> (the feature maps are frozen,
    /// so no gradient flows into them).</summary>
    public void Backward()
    {
        var batch = _batch;
        Conv2d.Ensure(ref _gradPooled, batch * Embedding);
        Array.Clear(_gradPooled, 0, batch * Embedding);
        for (var b = 0; b < batch; b++)
        {
            var embedding = _pooled.AsSpan(b * Embedding, Embedding);
            var gradEmbedding = _gradPooled.AsSpan(b * Embedding, Embedding);
            for (var k = 0; k < Classes; k++)
            {
                var g = _gradLogits[b * Classes + k];
                HeadBias.Gradient[k] += g;
                var row = HeadWeights.Gradient.AsSpan(k * Embedding, Embedding);
                TensorPrimitives.MultiplyAdd(embedding, g, row, row);
                TensorPrimitives.MultiplyAdd(HeadWeights.Value.AsSpan(k * Embedding, Embedding), g, gradEmbedding, gradEmbedding);
            }
        }
        if (_blocks.Length == 0) return;

        if (_gradMaps.Length != _blocks.Length) _gradMaps = new float[_blocks.Length][];
        var last = _blocks.Length - 1;
        Conv2d.Ensure(ref _gradMaps[last], Embedding * batch * _lastPlane);
        var gradOutput = _gradMaps[last];
        for (var c = 0; c < Embedding; c++)
            for (var b = 0; b < batch; b++)
                gradOutput.AsSpan((c * batch + b) * _lastPlane, _lastPlane).Fill(_gradPooled[b * Embedding + c] / _lastPlane);

        for (var i = last; i >= 0; i--)
        {
            float[]? gradInput = null;
            if (i > 0)
            {
                var length = _blocks[i - 1].Conv2.Outputs * batch * _blocks[i - 1].OutputHeight * _blocks[i - 1].OutputWidth;
                Conv2d.Ensure(ref _gradMaps[i - 1], length);
                Array.Clear(_gradMaps[i - 1], 0, length);
                gradInput = _gradMaps[i - 1];
            }
            _blocks[i].Backward(_gradMaps[i], gradInput);
        }
    }
}
