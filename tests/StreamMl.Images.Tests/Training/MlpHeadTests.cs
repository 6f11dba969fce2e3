using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Heads;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Tests.Training;

/// <summary>The MLP head (issue 15 item 3): it learns a problem no linear head can, its predictions are the plain
/// forward pass written here in double, and the one composed ONNX graph (pixels → backbone → MLP) matches backbone +
/// head run apart within 1e-5.</summary>
public sealed class MlpHeadTests
{
    /// <summary>Two concentric rings in the first two of 8 features (the rest noise): a linear boundary gets about half right.</summary>
    private static (float[] Features, int[] Labels) Rings(int rows, int seed)
    {
        var random = new Random(seed);
        var features = new float[rows * 8];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = r % 2;
            var radius = (labels[r] == 0 ? 1.0 : 3.0) + (random.NextDouble() - 0.5) * 0.6;
            var angle = random.NextDouble() * 2 * Math.PI;
            features[r * 8] = (float)(radius * Math.Cos(angle) * 10 + 50); // far from standardised, to test the folding
            features[r * 8 + 1] = (float)(radius * Math.Sin(angle) * 0.1 - 3);
            for (var j = 2; j < 8; j++) features[r * 8 + j] = (float)random.NextDouble();
        }
        return (features, labels);
    }

    /// <summary>The forward pass written out in double, from the head's public weights.</summary>
    private static double[] Reference(MlpHead head, ReadOnlySpan<float> x)
    {
        var hidden = new double[head.Hidden];
        for (var h = 0; h < head.Hidden; h++)
        {
            double sum = head.HiddenBiases[h];
            for (var j = 0; j < head.Inputs; j++) sum += head.HiddenWeights[h * head.Inputs + j] * (double)x[j];
            hidden[h] = Math.Max(0, sum);
        }
        var logits = new double[head.Classes];
        for (var c = 0; c < head.Classes; c++)
        {
            logits[c] = head.OutputBiases[c];
            for (var h = 0; h < head.Hidden; h++) logits[c] += head.OutputWeights[c * head.Hidden + h] * hidden[h];
        }
        var max = logits.Max();
        var total = logits.Sum(l => Math.Exp(l - max));
        return [.. logits.Select(l => Math.Exp(l - max) / total)];
    }

    [Fact]
    public void LearnsTwoRingsThatNoLinearHeadSeparatesAndPredictsAsThePlainForwardPass()
    {
        var (features, labels) = Rings(400, 1);
        var (testFeatures, testLabels) = Rings(200, 2);
        var head = MlpHead.Train(features, 8, labels, 2, new MlpHeadOptions { Hidden = 32, Epochs = 80, LearningRate = 0.01, L2 = 1e-4 });

        var probabilities = head.Predict(testFeatures);
        var correct = 0;
        for (var r = 0; r < testLabels.Length; r++)
        {
            var expected = Reference(head, testFeatures.AsSpan(r * 8, 8));
            for (var c = 0; c < 2; c++) Assert.True(Math.Abs(expected[c] - probabilities[r * 2 + c]) <= 1e-5, $"row {r} class {c}");
            if ((probabilities[r * 2 + 1] > 0.5 ? 1 : 0) == testLabels[r]) correct++;
        }
        Assert.True(correct >= 190, $"{correct} of 200 held-out ring points right");

        var again = MlpHead.Train(features, 8, labels, 2, new MlpHeadOptions { Hidden = 32, Epochs = 80, LearningRate = 0.01, L2 = 1e-4 });
        Assert.Equal(head.OutputWeights, again.OutputWeights); // seeded: the same run twice is the same head
        Assert.Throws<StreamMlException>(() => MlpHead.Train(features, 8, [.. labels.Select(l => l + 1)], 2));
    }

    [Fact]
    public void ComposedGraphWithTheMlpHeadMatchesBackboneThenHeadWithin1e5()
    {
        var folder = ImageFolder.Open(SharedData.File("caltech20"));
        var images = folder.Images.GroupBy(i => i.Label).Take(3).SelectMany(g => g.Take(4)).ToArray();
        var files = BackboneFiles.Locate();
        using var featurizer = ImageModelSession.Featurizer(files);
        var letters = new CollectingDeadLetterSink();
        var embedded = new ImageEmbedder(featurizer, batchSize: 6).Embed(images, letters);
        Assert.Equal(0, letters.Count);
        var labels = embedded.Images.Select(i => i.Label).ToArray();
        var head = MlpHead.Train(embedded.Embeddings, embedded.Width, labels, 3, new MlpHeadOptions { Hidden = 16, Epochs = 20 });
        var twoStage = head.Predict(embedded.Embeddings);

        var graph = ImageModelGraph.WithMlpHead(ImageModelGraph.Featurizer(files), head).Graph;
        Assert.Equal(["Gemm", "Relu", "Gemm", "Softmax"], graph.Node.TakeLast(4).Select(n => n.OpType));
        Assert.Equal([16L, embedded.Width], graph.Initializer.Single(t => t.Name == "mlp_hidden_weights").Dims);
        using var composed = new ImageModelSession(ImageModels.ClassifierWithMlp(files, head));
        using var preprocessor = new ImagePreprocessor();
        var batch = new ImageTensorBatch(images.Length);
        new ImageBatchReader(preprocessor, letters).Fill(batch, embedded.Images, 0);
        var oneGraph = composed.Run(batch.Tensor, batch.Count, ImageModels.Probabilities);

        Assert.Equal(twoStage.Length, oneGraph.Length);
        var worst = 0.0;
        for (var i = 0; i < twoStage.Length; i++) worst = Math.Max(worst, Math.Abs(twoStage[i] - oneGraph[i]));
        Assert.True(worst <= 1e-5, $"composed graph differs from backbone + MLP head by {worst}");
    }
}
