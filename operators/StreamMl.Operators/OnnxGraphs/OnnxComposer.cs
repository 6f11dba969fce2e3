using Google.Protobuf;
using StreamMl.Engine;

namespace StreamMl.Operators.OnnxGraphs;

/// <summary>Builds one ONNX graph out of several exported models: each model's nodes, initialisers and intermediate
/// values are copied under a prefix, while the matrix input they all read keeps its name, so the members share it.
/// Ensembles and fold-fitted encodings use it; the member graphs come from ML.NET's exporter.</summary>
internal static class OnnxComposer
{
    public const int FloatType = 1;
    public const int Int64Type = 7;
    public const int BoolType = 9;

    /// <summary>Parses exported model bytes.</summary>
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

    /// <summary>The graph inputs that are not initialisers (the data the model reads).</summary>
    public static List<ValueInfoProto> DataInputs(GraphProto graph)
    {
        var initialised = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initialised.Contains(i.Name)).ToList();
    }

    /// <summary>Copies <paramref name="source"/>'s nodes, initialisers (listed among the inputs too, as IR version 3
    /// wants) and value infos into <paramref name="target"/>, every name prefixed by <paramref name="prefix"/> except
    /// <paramref name="shared"/> (the matrix input), which is renamed to <paramref name="sharedAs"/>. Returns the
    /// prefixed names of the source's outputs, in order.</summary>
    public static List<string> AddPrefixed(GraphProto target, GraphProto source, string prefix, string shared, string sharedAs)
    {
        string Rename(string name) => name.Length == 0 ? name : name == shared ? sharedAs : prefix + name;
        foreach (var node in source.Node)
        {
            if (node.Attribute.Any(a => a.Type == AttributeProto.Types.AttributeType.Graph))
                throw new StreamMlException($"node '{node.Name}' ({node.OpType}) holds a subgraph; graphs with subgraphs cannot be combined");
            var copy = node.Clone();
            copy.Name = prefix + node.Name;
            for (var i = 0; i < copy.Input.Count; i++) copy.Input[i] = Rename(copy.Input[i]);
            for (var i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
            target.Node.Add(copy);
        }
        var initialised = source.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in source.Initializer)
        {
            var copy = tensor.Clone();
            copy.Name = Rename(tensor.Name);
            target.Initializer.Add(copy);
        }
        foreach (var input in source.Input.Where(i => initialised.Contains(i.Name)))
        {
            var copy = input.Clone();
            copy.Name = Rename(input.Name);
            target.Input.Add(copy);
        }
        foreach (var info in source.ValueInfo)
        {
            var copy = info.Clone();
            copy.Name = Rename(info.Name);
            target.ValueInfo.Add(copy);
        }
        return source.Output.Select(o => Rename(o.Name)).ToList();
    }

    /// <summary>A model around <paramref name="graph"/> importing, per domain, the highest opset any of
    /// <paramref name="members"/> imports (at least <paramref name="minimum"/>, when given), with their highest IR version.</summary>
    public static ModelProto Model(GraphProto graph, IEnumerable<ModelProto> members, string doc, params (string Domain, long Version)[] minimum)
    {
        var list = members.ToList();
        var model = new ModelProto
        {
            IrVersion = list.Max(m => m.IrVersion),
            ProducerName = "StreamMl",
            ProducerVersion = "1",
            DocString = doc,
            Graph = graph,
        };
        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var opset in list.SelectMany(m => m.OpsetImport).Concat(minimum.Select(m => new OperatorSetIdProto { Domain = m.Domain, Version = m.Version })))
            opsets[opset.Domain] = Math.Max(opsets.GetValueOrDefault(opset.Domain), opset.Version);
        foreach (var (domain, version) in opsets) model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return model;
    }

    /// <summary>The index of the output named <paramref name="role"/> or <c>role.something</c> (ML.NET names them
    /// "Probability.output" and the like), or -1.</summary>
    public static int OutputIndex(GraphProto graph, string role)
    {
        for (var i = 0; i < graph.Output.Count; i++)
        {
            var name = graph.Output[i].Name;
            if (name == role || name.StartsWith(role + ".", StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, string domain = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name, Domain = domain };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, F = value, Type = AttributeProto.Types.AttributeType.Float };

    public static AttributeProto Floats(string name, IEnumerable<float> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        attribute.Floats.Add(values);
        return attribute;
    }

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    /// <summary>A float initialiser of the given shape (a scalar when no dimension is given), also declared as an input.</summary>
    public static void AddFloats(GraphProto graph, string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType };
        tensor.Dims.Add(dims);
        tensor.FloatData.Add(values);
        graph.Initializer.Add(tensor);
        graph.Input.Add(Tensor(name, FloatType, dims.Select(d => (long?)d).ToArray()));
    }

    /// <summary>An int64 initialiser of the given shape, also declared as an input.</summary>
    public static void AddInt64s(GraphProto graph, string name, long[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = Int64Type };
        tensor.Dims.Add(dims);
        tensor.Int64Data.Add(values);
        graph.Initializer.Add(tensor);
        graph.Input.Add(Tensor(name, Int64Type, dims.Select(d => (long?)d).ToArray()));
    }

    /// <summary>A tensor value info; a null dimension is the symbolic batch size.</summary>
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

    /// <summary>The model as bytes.</summary>
    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();
}
