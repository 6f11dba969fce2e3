using StreamMl.Images.Backbone;
using StreamMl.Images.FineTuning;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;
using StreamMl.OnnxFormat;

namespace StreamMl.Images.Tests.FineTuning;

/// <summary>The fine-tuner on the packaged ResNet18: its forward pass from the cut feature maps matches ONNX Runtime on
/// the whole graph, before and after the weights are changed and written back; a tiny end-to-end run.</summary>
public sealed class FineTuningOnnxTests
{
    private static readonly string[] s_classes = ["airplanes", "fireworks", "galaxy"];

    private static (byte[] Classifier, LabelledImage[] Images) Tiny(int perClass)
    {
        var folder = ImageFolder.Open(SharedData.File("caltech20"));
        var images = folder.Images.Where(i => s_classes.Contains(folder.Classes[i.Label]))
            .GroupBy(i => i.Label).SelectMany(g => g.Take(perClass))
            .Select(i => i with { Label = Array.IndexOf(s_classes, folder.Classes[i.Label]) }).ToArray();
        var random = new Random(1);
        var weights = Enumerable.Range(0, s_classes.Length * 512).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        return (ImageModels.Classifier(BackboneFiles.Locate(), weights, new float[s_classes.Length]), images);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]   // the packaged ResNet18's whole last stage: a strided block and two identity blocks
    public void ForwardPassFromTheCutMatchesOnnxRuntimeBeforeAndAfterWritingWeightsBack(int blocks)
    {
        var (classifier, images) = Tiny(1);
        var model = ModelProto.Parser.ParseFrom(classifier);
        var stage = ResNetStageGraph.Locate(model, blocks);
        using var cut = new FeatureMapSession(stage.CutModel(ImageModels.Embedding), 224);
        using var preprocessor = new ImagePreprocessor();
        var tensor = new float[images.Length * 3 * 224 * 224];
        for (var i = 0; i < images.Length; i++)
            Assert.Equal(StreamMl.Images.Decoding.ImageDecodeStatus.Ok, preprocessor.Preprocess(File.ReadAllBytes(images[i].Path), tensor.AsSpan(i * 3 * 224 * 224, 3 * 224 * 224)));
        var (maps, embeddings) = cut.Run(tensor, images.Length);
        var (c, h, w) = cut.MapShape;
        Assert.Equal(blocks == 3 ? (256, 14, 14) : (512, 7, 7), (c, h, w));
        var (headWeights, headBias) = ImageModels.ReadLinearHead(classifier);
        var network = new StageNetwork(stage.ReadBlocks(), c, h, w, headWeights, headBias);

        // Folded batch normalisation: this code's embedding of the cut maps is the graph's own.
        network.Forward(maps);
        Assert.True(Worst(network.Pooled.ToArray(), embeddings.SelectMany(e => e).ToArray()) <= 1e-4);

        // Change every trainable value, write back, and compare with ONNX Runtime running the whole tuned graph.
        var random = new Random(2);
        foreach (var parameter in network.Parameters())
            for (var i = 0; i < parameter.Value.Length; i++) parameter.Value[i] *= 1f + (float)(random.NextDouble() - 0.5) * 0.2f;
        var tuned = Google.Protobuf.MessageExtensions.ToByteArray(stage.WithWeights(network));
        using var session = new ImageModelSession(tuned);
        var probabilities = session.Run(tensor, images.Length, ImageModels.Probabilities);
        var tunedEmbeddings = session.Run(tensor, images.Length, ImageModels.Embedding);
        var logits = network.Forward(maps).ToArray();
        var mine = Enumerable.Range(0, images.Length).SelectMany(i => FineTuner.Softmax(logits.AsSpan(i * 3, 3))).ToArray();
        Assert.True(Worst(network.Pooled.ToArray(), tunedEmbeddings) <= 1e-4, $"embeddings differ by {Worst(network.Pooled.ToArray(), tunedEmbeddings)}");
        Assert.True(Worst(mine, probabilities) <= 1e-4, $"probabilities differ by {Worst(mine, probabilities)}");
        Assert.True(Worst(tunedEmbeddings, embeddings.SelectMany(e => e).ToArray()) > 1e-2, "the tuned graph should differ from the original");
    }

    [Fact]
    public void TinyFineTuningRunKeepsOnnxParityAndRecordsItsEpochs()
    {
        var (classifier, images) = Tiny(4);
        var result = FineTuner.Run(classifier, images, s_classes.Length,
            new FineTuneOptions { Epochs = 2, Blocks = 1, Views = 1, BatchSize = 4, ValidationFraction = 0.25, LearningRate = 0.01 });
        Assert.Equal(3, result.ValidationImages);
        Assert.Equal(9, result.TrainImages);
        Assert.Equal(3, result.Epochs.Count);
        Assert.True(result.Parity <= 1e-4, $"parity {result.Parity}");
        Assert.InRange(result.BestEpoch, 0, 2);
    }

    // Largest |a − b| / max(1, |b|).
    private static double Worst(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        return actual.Select((a, i) => Math.Abs(a - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]))).Max();
    }
}
