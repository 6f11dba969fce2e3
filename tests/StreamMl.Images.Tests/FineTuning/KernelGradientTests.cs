using StreamMl.Images.FineTuning;

namespace StreamMl.Images.Tests.FineTuning;

/// <summary>The fine-tuning kernels against plain references: the matrix product against the triple loop, the
/// convolution against the direct sum, and every gradient against central finite differences on tiny shapes.</summary>
public sealed class KernelGradientTests
{
    private static float[] RandomArray(Random random, int length, double scale = 1) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];

    [Theory]
    [InlineData(7, 13, 37, false)]
    [InlineData(33, 70, 150, true)]   // large enough for the parallel path
    [InlineData(4, 1, 16, true)]
    public void GemmMatchesTheTripleLoop(int m, int k, int n, bool accumulate)
    {
        var random = new Random(m * 1000 + n);
        var a = RandomArray(random, m * k);
        var b = RandomArray(random, k * n);
        var c = RandomArray(random, m * n);
        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * n + j] : 0;
                for (var p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                expected[i * n + j] = sum;
            }
        Gemm.Multiply(a, b, c, m, k, n, accumulate);
        for (var i = 0; i < m * n; i++) Assert.True(Math.Abs(c[i] - expected[i]) < 1e-4 * (1 + Math.Abs(expected[i])), $"c[{i}] = {c[i]}, expected {expected[i]}");
    }

    // A direct convolution on [C, B, H, W] activations, written from the definition.
    private static double[] DirectConvolution(float[] input, float[] weights, float[] bias, int cin, int cout, int batch, int h, int w,
        int kernel, int stride, (int Top, int Left, int Bottom, int Right) pads)
    {
        var outH = (h + pads.Top + pads.Bottom - kernel) / stride + 1;
        var outW = (w + pads.Left + pads.Right - kernel) / stride + 1;
        var output = new double[cout * batch * outH * outW];
        for (var o = 0; o < cout; o++)
            for (var b = 0; b < batch; b++)
                for (var y = 0; y < outH; y++)
                    for (var x = 0; x < outW; x++)
                    {
                        double sum = bias[o];
                        for (var c = 0; c < cin; c++)
                            for (var ky = 0; ky < kernel; ky++)
                                for (var kx = 0; kx < kernel; kx++)
                                {
                                    var iy = y * stride - pads.Top + ky;
                                    var ix = x * stride - pads.Left + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    sum += weights[((o * cin + c) * kernel + ky) * kernel + kx] * (double)input[((c * batch + b) * h + iy) * w + ix];
                                }
                        output[((o * batch + b) * outH + y) * outW + x] = sum;
                    }
        return output;
    }

    [Theory]
    [InlineData(3, 2, (int)1, 1, 1, 1, 1)]   // 3x3, stride 1, pad 1
    [InlineData(3, 2, (int)1, 1, 0, 0, 2)]   // 3x3, stride 2, the backbone's asymmetric padding
    [InlineData(1, 2, (int)0, 0, 0, 0, 2)]   // 1x1 downsample, stride 2
    public void ConvolutionForwardAndGradientsMatchTheDefinitionAndFiniteDifferences(int kernel, int batch, int top, int left, int bottom, int right, int stride)
    {
        const int cin = 2, cout = 3, h = 6, w = 5;
        var random = new Random(kernel * 10 + stride);
        var pads = (top, left, bottom, right);
        var weights = RandomArray(random, cout * cin * kernel * kernel);
        var bias = RandomArray(random, cout);
        var input = RandomArray(random, cin * batch * h * w);
        var conv = new Conv2d("c", cin, cout, kernel, stride, pads, (float[])weights.Clone(), (float[])bias.Clone());
        var output = new float[conv.OutputLength(batch, h, w)];
        conv.Forward(input, batch, h, w, output);
        var direct = DirectConvolution(input, weights, bias, cin, cout, batch, h, w, kernel, stride, pads);
        Assert.Equal(direct.Length, output.Length);
        for (var i = 0; i < output.Length; i++) Assert.True(Math.Abs(output[i] - direct[i]) < 1e-5, $"output {i}: {output[i]} vs {direct[i]}");

        // Loss = Σ output · r, so dLoss/dOutput = r; the loss is linear in each argument, so central differences are exact
        // up to rounding (computed here in double through the direct convolution).
        var r = RandomArray(random, output.Length);
        double Loss(float[] x, float[] wt, float[] bs) =>
            DirectConvolution(x, wt, bs, cin, cout, batch, h, w, kernel, stride, pads).Select((v, i) => v * r[i]).Sum();
        var gradInput = new float[input.Length];
        conv.Backward(r, gradInput);

        void Check(string name, float[] values, float[] analytic)
        {
            for (var i = 0; i < values.Length; i++)
            {
                var keep = values[i];
                values[i] = keep + 1e-2f;
                var up = Loss(input, weights, bias);
                values[i] = keep - 1e-2f;
                var down = Loss(input, weights, bias);
                values[i] = keep;
                var numeric = (up - down) / ((double)(keep + 1e-2f) - (keep - 1e-2f));
                Assert.True(Math.Abs(numeric - analytic[i]) < 1e-3 * (1 + Math.Abs(numeric)), $"d{name}[{i}]: analytic {analytic[i]}, numeric {numeric}");
            }
        }
        Check("input", input, gradInput);
        Check("weights", weights, conv.Weights.Gradient);
        Check("bias", bias, conv.Bias.Gradient);
    }

    [Fact]
    public void StageGradientsMatchFiniteDifferencesOfTheCrossEntropy()
    {
        var random = new Random(5);
        Conv2d Conv(string name, int cin, int cout, int kernel, int stride, (int, int, int, int) pads) =>
            new(name, cin, cout, kernel, stride, pads, RandomArray(random, cout * cin * kernel * kernel, 0.5), RandomArray(random, cout, 0.2));
        // Two blocks as in ResNet18's last stage, tiny: 3 -> 4 channels with a strided downsample, then an identity block.
        var blocks = new[]
        {
            new BasicBlock(Conv("b0c1", 3, 4, 3, 2, (1, 1, 0, 0)), Conv("b0c2", 4, 4, 3, 1, (1, 1, 1, 1)), Conv("b0d", 3, 4, 1, 2, (0, 0, 0, 0))),
            new BasicBlock(Conv("b1c1", 4, 4, 3, 1, (1, 1, 1, 1)), Conv("b1c2", 4, 4, 3, 1, (1, 1, 1, 1)), null),
        };
        const int classes = 3;
        var network = new StageNetwork(blocks, 3, 6, 6, RandomArray(random, classes * 4), RandomArray(random, classes));
        var maps = Enumerable.Range(0, 3).Select(_ => RandomArray(random, 3 * 6 * 6)).ToList();
        int[] labels = [0, 2, 1];

        double Loss()
        {
            network.Forward(maps);
            return network.Loss(labels);
        }
        Loss();
        network.ZeroGradients();
        network.Backward();
        var checkedValues = 0;
        foreach (var parameter in network.Parameters())
        {
            var analytic = (float[])parameter.Gradient.Clone();
            // Every bias and head value; a spread of each convolution's weights.
            var indices = parameter.Value.Length <= 16 ? Enumerable.Range(0, parameter.Value.Length) : Enumerable.Range(0, 12).Select(_ => random.Next(parameter.Value.Length));
            foreach (var i in indices)
            {
                var keep = parameter.Value[i];
                const float eps = 1e-3f;
                parameter.Value[i] = keep + eps;
                var up = Loss();
                parameter.Value[i] = keep - eps;
                var down = Loss();
                parameter.Value[i] = keep;
                var numeric = (up - down) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[i]) < 2e-3 + 2e-2 * Math.Abs(numeric),
                    $"{parameter.Name}[{i}]: analytic {analytic[i]}, numeric {numeric}");
                checkedValues++;
            }
        }
        Assert.True(checkedValues > 80);
    }

    [Fact]
    public void UnfreezingTheBlocksFitsATinySpatialProblemBetterThanTheHeadAlone()
    {
        // Class = where a bright 2x2 patch sits (left half, right half, nowhere): average pooling of the raw maps cannot tell
        // left from right, so the head alone on a random block stays stuck while training the block separates them.
        var random = new Random(3);
        var maps = new List<float[]>();
        var labels = new List<int>();
        for (var i = 0; i < 24; i++)
        {
            var label = i % 3;
            var map = RandomArray(random, 2 * 6 * 6, 0.1);
            if (label < 2)
            {
                var x0 = label == 0 ? random.Next(0, 2) : random.Next(3, 5);
                var y0 = random.Next(0, 5);
                for (var c = 0; c < 2; c++)
                    for (var dy = 0; dy < 2; dy++)
                        for (var dx = 0; dx < 2; dx++) map[(c * 6 + y0 + dy) * 6 + x0 + dx] += 1f;
            }
            maps.Add(map);
            labels.Add(label);
        }

        double Train(bool unfreeze)
        {
            var init = new Random(9);
            Conv2d Conv(string name, int cin, int cout) =>
                new(name, cin, cout, 3, 1, (1, 1, 1, 1), RandomArray(init, cout * cin * 9, 0.3), new float[cout]);
            var network = new StageNetwork([new BasicBlock(Conv("c1", 2, 6), Conv("c2", 6, 6), new Conv2d("d", 2, 6, 1, 1, (0, 0, 0, 0), RandomArray(init, 12, 0.5), new float[6]))],
                2, 6, 6, new float[3 * 6], new float[3]);
            var trained = unfreeze ? network.Parameters().ToList() : [network.HeadWeights, network.HeadBias];
            var options = new FineTuneOptions { Momentum = 0.9, WeightDecay = 0 };
            for (var step = 0; step < 150; step++)
            {
                network.Forward(maps);
                network.Loss(labels);
                network.ZeroGradients();
                network.Backward();
                FineTuner.Update(trained, 0.05, options);
            }
            network.Forward(maps);
            return network.Loss(labels);
        }

        var headOnly = Train(unfreeze: false);
        var fineTuned = Train(unfreeze: true);
        Assert.True(fineTuned < 0.5 * headOnly, $"fine-tuned loss {fineTuned:F4} vs head only {headOnly:F4}");
        Assert.True(fineTuned < 0.2, $"fine-tuned loss {fineTuned:F4}");
    }
}
