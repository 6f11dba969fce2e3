using System.Runtime.InteropServices;
using Google.Protobuf;
using StreamMl.Engine;

namespace StreamMl.OnnxFormat;

/// <summary>Reads ONNX models and the parts of them StreamMl looks at, with errors that say which model was not one.</summary>
public static class OnnxReader
{
    /// <summary>Parses model bytes; <paramref name="what"/> names the model in the error when they are not ONNX.</summary>
    public static ModelProto Parse(byte[] bytes, string what)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new StreamMlException($"{what} is not an ONNX model ({e.Message})");
        }
    }

    /// <summary>Reads an ONNX file; the error names the file when it is not one.</summary>
    public static ModelProto Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BadInputException($"not an ONNX model ({e.Message})", path);
        }
    }

    /// <summary>The graph inputs that are not initialisers (the data the model reads), in order.</summary>
    public static List<ValueInfoProto> DataInputs(GraphProto graph)
    {
        var initialised = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initialised.Contains(i.Name)).ToList();
    }

    /// <summary>The float values of a tensor, from <c>raw_data</c> when it is set, else from the <c>float_data</c> list.</summary>
    public static float[] FloatValues(TensorProto tensor) =>
        tensor.RawData.IsEmpty ? [.. tensor.FloatData] : MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
}
