using StreamMl.Engine;
using StreamMl.OnnxFormat;

namespace StreamMl.Operators.OnnxGraphs;

/// <summary>Builds one ONNX graph out of several exported models: each model's nodes, initialisers and intermediate
/// values are copied under a prefix, while the matrix input they all read keeps its name, so the members share it.
/// Ensembles and fold-fitted encodings use it; the member graphs come from ML.NET's exporter. The pieces (nodes,
/// attributes, initialisers) come from <see cref="OnnxBuilder"/>.</summary>
internal static class OnnxComposer
{
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
}
