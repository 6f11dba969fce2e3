using System.Numerics.Tensors;

namespace StreamMl.Images.FineTuning;

/// <summary>A ResNet basic block, <c>relu(conv2(relu(conv1(x))) + shortcut(x))</c>, with the shortcut a strided 1×1
/// convolution when the shape changes and the identity otherwise; batch normalisations are folded into the
/// convolutions. Activations are [channels, batch, height, width].</summary>
internal sealed class BasicBlock(Conv2d conv1, Conv2d conv2, Conv2d? downsample)
{
    private float[] _hidden = [];
    private float[] _output = [];
    private float[] _shortcut = [];
    private float[] _gradSum = [];
    private float[] _gradHidden = [];
    private int _batch;

    public Conv2d Conv1 => conv1;
    public Conv2d Conv2 => conv2;
    public Conv2d? Downsample => downsample;
    public int OutputHeight => conv1.OutputHeight;
    public int OutputWidth => conv1.OutputWidth;

    private int HiddenLength => conv1.Outputs * _batch * conv1.OutputHeight * conv1.OutputWidth;
    private int OutputLength => conv2.Outputs * _batch * OutputHeight * OutputWidth;

    public IEnumerable<Parameter> Parameters()
    {
        foreach (var conv in (Conv2d?[])[conv1, conv2, downsample])
            if (conv is not null) { yield return conv.Weights; yield return conv.Bias; }
    }

    /// <summary>Runs the block; the returned buffer [conv2.Outputs, batch, OutputHeight, OutputWidth] is reused.</summary>
    public float[] Forward(float[] input, int batch, int height, int width)
    {
        _batch = batch;
        conv1.Forward(input, batch, height, width, Sized(ref _hidden, conv1.OutputLength(batch, height, width)));
        var hidden = _hidden.AsSpan(0, HiddenLength);
        TensorPrimitives.Max(hidden, 0f, hidden);
        var output = Sized(ref _output, OutputLength);
        conv2.Forward(_hidden, batch, conv1.OutputHeight, conv1.OutputWidth, output);
        var sum = output.AsSpan(0, OutputLength);
        if (downsample is null)
        {
            TensorPrimitives.Add(sum, input.AsSpan(0, OutputLength), sum);
        }
        else
        {
            downsample.Forward(input, batch, height, width, Sized(ref _shortcut, OutputLength));
            TensorPrimitives.Add(sum, _shortcut.AsSpan(0, OutputLength), sum);
        }
        TensorPrimitives.Max(sum, 0f, sum);
        return _output;
    }

    /// <summary>Adds the parameter gradients for <paramref name="gradOutput"/> and, when given, the input's gradient
    /// to <paramref name="gradInput"/>.</summary>
    public void Backward(float[] gradOutput, float[]? gradInput)
    {
        var length = OutputLength;
        var gradSum = Sized(ref _gradSum, length);
        for (var i = 0; i < length; i++) gradSum[i] = _output[i] > 0f ? gradOutput[i] : 0f;

        var hiddenLength = HiddenLength;
        var gradHidden = Sized(ref _gradHidden, hiddenLength);
        Array.Clear(gradHidden, 0, hiddenLength);
        conv2.Backward(gradSum, gradHidden);
        for (var i = 0; i < hiddenLength; i++) if (_hidden[i] <= 0f) gradHidden[i] = 0f;
        conv1.Backward(gradHidden, gradInput);
        if (downsample is not null) downsample.Backward(gradSum, gradInput);
        else if (gradInput is not null) TensorPrimitives.Add(gradInput.AsSpan(0, length), gradSum.AsSpan(0, length), gradInput.AsSpan(0, length));
    }

    private static float[] Sized(ref float[] buffer, int length)
    {
        Conv2d.Ensure(ref buffer, length);
        return buffer;
    }
}
