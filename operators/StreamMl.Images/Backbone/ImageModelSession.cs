using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using Google.Protobuf;
using StreamMl.Images.Onnx;

namespace StreamMl.Images.Backbone;

/// <summary>An image model (featurizer, or featurizer + head) in ONNX Runtime, run on batches of preprocessed
/// images (RGB 0..255 planes, <see cref="Preprocessing.ChannelNormalization.Raw255"/>), one image per row.</summary>
public sealed class ImageModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly int _imageLength;
    private readonly string[] _outputs;
    private readonly int[] _outputWidths;

    /// <summary>Loads the ONNX bytes <paramref name="onnx"/> with <paramref name="intraOpThreads"/> threads per operator
    /// (0 = ONNX Runtime's default).</summary>
    public ImageModelSession(byte[] onnx, int intraOpThreads = 0, int imageSide = 224)
    {
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            _session = new InferenceSession(onnx, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new StreamMlException($"ONNX Runtime refused the image model ({e.Message.Split('\n')[0]})", e);
        }
        _imageLength = 3 * imageSide * imageSide;
        ImageSide = imageSide;
        _outputs = [.. _session.OutputMetadata.Keys];
        _outputWidths = [.. _session.OutputMetadata.Values.Select(m => m.Dimensions[^1])];
    }

    /// <summary>Loads the packaged featurizer (preprocessing + ResNet18 → embedding).</summary>
    public static ImageModelSession Featurizer(BackboneFiles? files = null, int intraOpThreads = 0) =>
        new(ImageModels.Featurizer(files ?? BackboneFiles.Locate()), intraOpThreads);

    /// <summary>Side of the images the model takes.</summary>
    public int ImageSide { get; }

    /// <summary>Output names, in the model's order.</summary>
    public IReadOnlyList<string> Outputs => _outputs;

    /// <summary>Values per image of each output.</summary>
    public IReadOnlyList<int> OutputWidths => _outputWidths;

    /// <summary>Runs <paramref name="images"/> images of <paramref name="tensor"/> and writes output
    /// <paramref name="output"/> ([images, width] row-major) into <paramref name="destination"/>.</summary>
    public void Run(Memory<float> tensor, int images, string output, Memory<float> destination)
    {
        var index = Array.IndexOf(_outputs, output);
        if (index < 0) throw new StreamMlException($"the image model has no output '{output}'; outputs are {string.Join(", ", Outputs)}");
        var width = OutputWidths[index];
        if (tensor.Length < images * _imageLength || destination.Length < images * width)
            throw new ArgumentException($"{images} images need {images * _imageLength} input and {images * width} output floats");
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, tensor[..(images * _imageLength)],
            [images, _imageLength]);
        using var result = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, destination[..(images * width)],
            [images, width]);
        _session.Run(_runOptions, [ImageModelGraph.ImageInput], [input], [output], [result]);
    }

    /// <summary>Runs the model and returns output <paramref name="output"/> as a new array.</summary>
    public float[] Run(Memory<float> tensor, int images, string output)
    {
        var width = OutputWidths[Array.IndexOf(_outputs, output) is var i and >= 0 ? i : 0];
        var destination = new float[images * width];
        Run(tensor, images, output, destination);
        return destination;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
