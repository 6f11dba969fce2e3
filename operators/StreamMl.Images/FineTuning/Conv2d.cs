namespace StreamMl.Images.FineTuning;

/// <summary>A 2-D convolution with a per-channel bias (a convolution and its frozen batch normalisation folded into
/// one), on activations laid out [channels, batch, height, width]: im2col, then one matrix product for the batch.
/// Keeps the columns of the last forward pass for the backward pass.</summary>
internal sealed class Conv2d
{
    private float[] _columns = [];
    private float[] _columnsT = [];
    private float[] _weightsT = [];
    private float[] _gradColumns = [];
    private int _batch;

    /// <summary>Creates a convolution; <paramref name="weights"/> is [outputs, inputs·kernel·kernel].</summary>
    public Conv2d(string name, int inputs, int outputs, int kernel, int stride, (int Top, int Left, int Bottom, int Right) pads, float[] weights, float[] bias)
    {
        if (weights.Length != outputs * inputs * kernel * kernel || bias.Length != outputs)
            throw new ArgumentException($"{name}: {weights.Length} weights and {bias.Length} biases do not fit {outputs}×{inputs}×{kernel}×{kernel}");
        (Inputs, Outputs, Kernel, Stride, Pads) = (inputs, outputs, kernel, stride, pads);
        Weights = new Parameter(name + ".weight", weights, Decays: true);
        Bias = new Parameter(name + ".bias", bias, Decays: false);
    }

    public int Inputs { get; }
    public int Outputs { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public (int Top, int Left, int Bottom, int Right) Pads { get; }
    public Parameter Weights { get; }
    public Parameter Bias { get; }

    public int InputHeight { get; private set; }
    public int InputWidth { get; private set; }
    public int OutputHeight => (InputHeight + Pads.Top + Pads.Bottom - Kernel) / Stride + 1;
    public int OutputWidth => (InputWidth + Pads.Left + Pads.Right - Kernel) / Stride + 1;

    /// <summary>Floats of the output for a batch of <paramref name="batch"/> inputs of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public int OutputLength(int batch, int height, int width) =>
        Outputs * batch * ((height + Pads.Top + Pads.Bottom - Kernel) / Stride + 1) * ((width + Pads.Left + Pads.Right - Kernel) / Stride + 1);

    private int Patch => Inputs * Kernel * Kernel;

    /// <summary>Output [Outputs, batch, OutputHeight, OutputWidth] of <paramref name="input"/> [Inputs, batch, height, width].</summary>
    public void Forward(float[] input, int batch, int height, int width, float[] output)
    {
        (_batch, InputHeight, InputWidth) = (batch, height, width);
        var columns = batch * OutputHeight * OutputWidth;
        Ensure(ref _columns, Patch * columns);
        Im2Col(input, _columns);
        Gemm.Multiply(Weights.Value, _columns, output, Outputs, Patch, columns);
        var bias = Bias.Value;
        for (var o = 0; o < Outputs; o++)
        {
            var row = output.AsSpan(o * columns, columns);
            System.Numerics.Tensors.TensorPrimitives.Add(row, bias[o], row);
        }
    }

    /// <summary>Adds the gradients of the weights and bias for <paramref name="gradOutput"/> (shaped like the last
    /// output) and, when <paramref name="gradInput"/> is given, adds the gradient of the input to it.</summary>
    public void Backward(float[] gradOutput, float[]? gradInput)
    {
        var columns = _batch * OutputHeight * OutputWidth;
        var bias = Bias.Gradient;
        for (var o = 0; o < Outputs; o++) bias[o] += System.Numerics.Tensors.TensorPrimitives.Sum(gradOutput.AsSpan(o * columns, columns));
        Ensure(ref _columnsT, Patch * columns);
        Gemm.Transpose(_columns, _columnsT, Patch, columns);
        Gemm.Multiply(gradOutput, _columnsT, Weights.Gradient, Outputs, columns, Patch, accumulate: true);
        if (gradInput is null) return;
        Ensure(ref _weightsT, Weights.Value.Length);
        Gemm.Transpose(Weights.Value, _weightsT, Outputs, Patch);
        Ensure(ref _gradColumns, Patch * columns);
        Gemm.Multiply(_weightsT, gradOutput, _gradColumns, Patch, Outputs, columns);
        Col2Im(_gradColumns, gradInput);
    }

    private void Im2Col(float[] input, float[] columns) => WalkPatches<Gather>(input, columns);

    private void Col2Im(float[] columns, float[] gradInput) => WalkPatches<ScatterAdd>(gradInput, columns);

    /// <summary>Visits every (patch row, output position) pair once: row (c, ky, kx) of the column matrix against pixel
    /// (iy, ix) of plane (c, b), or the padding outside the image. Im2Col gathers pixels into the columns; Col2Im adds
    /// the columns' gradients back onto the pixels they came from.</summary>
    private void WalkPatches<TMove>(float[] image, float[] columns) where TMove : struct, IPatchMove
    {
        int outH = OutputHeight, outW = OutputWidth, h = InputHeight, w = InputWidth, batch = _batch;
        var perRow = batch * outH * outW;
        for (var c = 0; c < Inputs; c++)
            for (var ky = 0; ky < Kernel; ky++)
                for (var kx = 0; kx < Kernel; kx++)
                {
                    var row = ((c * Kernel + ky) * Kernel + kx) * perRow;
                    var n = 0;
                    for (var b = 0; b < batch; b++)
                    {
                        var plane = (c * batch + b) * h * w;
                        for (var oy = 0; oy < outH; oy++)
                        {
                            var iy = oy * Stride - Pads.Top + ky;
                            for (var ox = 0; ox < outW; ox++, n++)
                            {
                                var ix = ox * Stride - Pads.Left + kx;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w) TMove.Pixel(image, plane + iy * w + ix, columns, row + n);
                                else TMove.Padding(columns, row + n);
                            }
                        }
                    }
                }
    }

    private interface IPatchMove
    {
        static abstract void Pixel(float[] image, int pixel, float[] columns, int cell);

        static abstract void Padding(float[] columns, int cell);
    }

    private readonly struct Gather : IPatchMove
    {
        public static void Pixel(float[] image, int pixel, float[] columns, int cell) => columns[cell] = image[pixel];

        public static void Padding(float[] columns, int cell) => columns[cell] = 0f;
    }

    private readonly struct ScatterAdd : IPatchMove
    {
        public static void Pixel(float[] image, int pixel, float[] columns, int cell) => image[pixel] += columns[cell];

        public static void Padding(float[] columns, int cell)
        {
        }
    }

    internal static void Ensure(ref float[] buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
    }
}
