using Microsoft.ML.OnnxRuntime;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Images.Onnx;
using StreamMl.OnnxFormat;

namespace StreamMl.Images.FineTuning;

/// <summary>The image model cut at the first trainable block, in ONNX Runtime: images in (RGB 0..255 planes, one per
/// row), the feature maps the trainable blocks start from and the frozen model's embeddings out.</summary>
internal sealed class FeatureMapSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _imageLength;
    private readonly RunOptions _runOptions = new();

    public FeatureMapSession(ModelProto cutModel, int imageSide)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, InterOpNumThreads = 1 };
        try
        {
            _session = new InferenceSession(cutModel.ToByteArray(), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new StreamMlException($"fine-tuning: ONNX Runtime refused the cut image model ({e.Message.Split('\n')[0]})", e);
        }
        _imageLength = 3 * imageSide * imageSide;
    }

    /// <summary>Shape of one feature map, [C, H, W], known after the first <see cref="Run"/>.</summary>
    public (int Channels, int Height, int Width) MapShape { get; private set; }

    /// <summary>Feature maps ([C·H·W] each) and embeddings of the first <paramref name="images"/> rows of <paramref name="tensor"/>.</summary>
    public (float[][] Maps, float[][] Embeddings) Run(float[] tensor, int images)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, tensor.AsMemory(0, images * _imageLength), [images, _imageLength]);
        using var outputs = _session.Run(_runOptions, [ImageModelGraph.ImageInput], [input], [ResNetStageGraph.StageInputOutput, ImageModelGraph.EmbeddingOutput]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        MapShape = ((int)shape[1], (int)shape[2], (int)shape[3]);
        var mapLength = MapShape.Channels * MapShape.Height * MapShape.Width;
        var maps = outputs[0].GetTensorDataAsSpan<float>();
        var embeddings = outputs[1].GetTensorDataAsSpan<float>();
        var width = embeddings.Length / images;
        var resultMaps = new float[images][];
        var resultEmbeddings = new float[images][];
        for (var i = 0; i < images; i++)
        {
            resultMaps[i] = maps.Slice(i * mapLength, mapLength).ToArray();
            resultEmbeddings[i] = embeddings.Slice(i * width, width).ToArray();
        }
        return (resultMaps, resultEmbeddings);
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
