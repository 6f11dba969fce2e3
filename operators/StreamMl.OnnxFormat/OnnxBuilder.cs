using System.Runtime.InteropServices;
using Google.Protobuf;

namespace StreamMl.OnnxFormat;

/// <summary>Builds the pieces of an ONNX graph: nodes, attributes, initialisers and value infos. Meant for
/// <c>using static</c>, so a graph reads as a list of <c>Node("Gemm", ...)</c> calls.</summary>
public static class OnnxBuilder
{
    /// <summary>A node of the default (ai.onnx) domain.</summary>
    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes) =>
        Node(op, name, inputs, outputs, "", attributes);

    /// <summary>A node of operator set <paramref name="domain"/> ("" is ai.onnx, "ai.onnx.ml" the classic ML operators).</summary>
    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, string domain, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name, Domain = domain };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, F = value, Type = AttributeProto.Types.AttributeType.Float };

    /// <summary>A list-of-floats attribute.</summary>
    public static AttributeProto Floats(string name, IEnumerable<float> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        attribute.Floats.Add(values);
        return attribute;
    }

    /// <summary>A list-of-integers attribute.</summary>
    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    /// <summary>A float tensor of the given shape (a scalar when no dimension is given), its values in the
    /// <c>float_data</c> list: readable in a dump, for a few values.</summary>
    public static TensorProto FloatTensor(string name, IEnumerable<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = OnnxElementType.Float };
        tensor.Dims.Add(dims);
        tensor.FloatData.Add(values);
        return tensor;
    }

    /// <summary>A float tensor of the given shape, its values as little-endian bytes in <c>raw_data</c>: compact, for weights.</summary>
    public static TensorProto RawFloatTensor(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = OnnxElementType.Float };
        tensor.Dims.Add(dims);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        return tensor;
    }

    /// <summary>An int64 tensor of the given shape, its values in the <c>int64_data</c> list.</summary>
    public static TensorProto Int64Tensor(string name, IEnumerable<long> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = OnnxElementType.Int64 };
        tensor.Dims.Add(dims);
        tensor.Int64Data.Add(values);
        return tensor;
    }

    /// <summary>Adds <paramref name="tensor"/> as an initialiser of <paramref name="graph"/> and declares it among the
    /// inputs as well, with its type and shape, as IR version 3 wants.</summary>
    public static void AddInitializer(GraphProto graph, TensorProto tensor)
    {
        graph.Initializer.Add(tensor);
        graph.Input.Add(Tensor(tensor.Name, tensor.DataType, [.. tensor.Dims.Select(d => (long?)d)]));
    }

    /// <summary>A tensor value info of element type <paramref name="elementType"/> (<see cref="OnnxElementType"/>); a
    /// null dimension is the symbolic batch size <c>N</c>.</summary>
    public static ValueInfoProto Tensor(string name, int elementType, params long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is { } value ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }
}
