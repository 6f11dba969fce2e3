using Google.Protobuf;
using StreamMl.Images.Backbone;
using StreamMl.OnnxFormat;

namespace StreamMl.Images.Onnx;

/// <summary>The image models as ONNX bytes: the featurizer (packaged preprocessing + ResNet18 → 512-wide embedding)
/// and the classifier (featurizer + linear head + softmax), each one graph taking RGB 0..255 planes [N, 3, 224, 224].</summary>
public static class ImageModels
{
    /// <summary>The input: one image per row, its RGB 0..255 planes flattened [N, 3·224·224].</summary>
    public const string Input = ImageModelGraph.ImageInput;

    /// <summary>Output with the class probabilities [N, classes].</summary>
    public const string Probabilities = ImageModelGraph.ProbabilitiesOutput;

    /// <summary>Output with the backbone's embedding [N, 512].</summary>
    public const string Embedding = ImageModelGraph.EmbeddingOutput;

    /// <summary>Preprocessing + backbone, output <see cref="Embedding"/>.</summary>
    public static byte[] Featurizer(BackboneFiles files) => ImageModelGraph.Featurizer(files).ToByteArray();

    /// <summary>Preprocessing + backbone + <c>softmax(embedding · Wᵀ + b)</c>, outputs <see cref="Probabilities"/> and
    /// <see cref="Embedding"/>; <paramref name="weights"/> is [classes, 512] row-major.</summary>
    public static byte[] Classifier(BackboneFiles files, ReadOnlySpan<float> weights, ReadOnlySpan<float> biases) =>
        ImageModelGraph.WithLinearHead(ImageModelGraph.Featurizer(files), weights, biases).ToByteArray();

    /// <summary>Preprocessing + backbone + an MLP head (<see cref="Heads.MlpHead"/>), outputs <see cref="Probabilities"/>
    /// and <see cref="Embedding"/>.</summary>
    public static byte[] ClassifierWithMlp(BackboneFiles files, Heads.MlpHead head) =>
        ImageModelGraph.WithMlpHead(ImageModelGraph.Featurizer(files), head).ToByteArray();

    /// <summary>The linear head stored in a classifier's bytes: weights [classes, 512] and biases.</summary>
    public static (float[] Weights, float[] Biases) ReadLinearHead(byte[] classifier) =>
        ImageModelGraph.ReadLinearHead(ModelProto.Parser.ParseFrom(classifier));
}
