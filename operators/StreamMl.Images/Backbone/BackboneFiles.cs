using StreamMl.Engine;

namespace StreamMl.Images.Backbone;

/// <summary>Where the ResNet18 ONNX files are: copied beside the application from the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 at build time (DnnImageModels/ResNet18Onnx/ResNet18.onnx and
/// DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx). Nothing is downloaded at run time.</summary>
/// <param name="BackbonePath">ResNet18.onnx: input [1, 3, 224, 224] BGR minus mean, output [1, 512, 1, 1].</param>
/// <param name="PreprocessPath">ResNetPreprocess.onnx: RGB 0..255 in, BGR minus the ImageNet mean image out.</param>
public sealed record BackboneFiles(string BackbonePath, string PreprocessPath)
{
    /// <summary>Side of the square image the backbone takes.</summary>
    public int ImageSide => 224;

    /// <summary>Width of the embedding (ResNet18's pooled last stage).</summary>
    public int EmbeddingSize => 512;

    /// <summary>The files beside the application (or under <paramref name="directory"/>); throws a
    /// <see cref="StreamMlException"/> saying where they were looked for when missing.</summary>
    public static BackboneFiles Locate(string? directory = null)
    {
        var root = Path.Combine(directory ?? AppContext.BaseDirectory, "DnnImageModels");
        var files = new BackboneFiles(
            Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx"),
            Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        foreach (var path in (string[])[files.BackbonePath, files.PreprocessPath])
            if (!File.Exists(path))
                throw new StreamMlException(
                    $"the ResNet18 model file {path} is missing; it is copied there from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 when StreamMl.Images is built");
        return files;
    }
}
