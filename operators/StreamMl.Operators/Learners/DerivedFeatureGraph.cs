using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.OnnxFormat;
using StreamMl.Operators.OnnxGraphs;
using static StreamMl.OnnxFormat.OnnxBuilder;
using static StreamMl.Operators.OnnxGraphs.OnnxComposer;

namespace StreamMl.Operators.Learners;

/// <summary>Puts derived features into a model's ONNX graph: per feature the operand columns are cut from the matrix
/// input (Gather; a number operand is a one-element initialiser that broadcasts), combined by Add, Sub, Mul or Div, and
/// a result that is infinite becomes NaN (IsInf, Where; NaN stays NaN) exactly as the kernel does; the input and the
/// derived columns are concatenated and the inner model's graph (under the prefix der_) reads the result. The outer
/// input is the matrix without the derived columns.</summary>
internal static class DerivedFeatureGraph
{
    public static byte[] Prepend(byte[] innerBytes, int width, IReadOnlyList<DerivedFeaturesLearner.ResolvedFeature> features)
    {
        var inner = OnnxReader.Parse(innerBytes, "the model with derived features");
        var inputs = OnnxReader.DataInputs(inner.Graph);
        if (inputs.Count != 1) throw new StreamMlException($"the model with derived features has {inputs.Count} data inputs; it must take one matrix");
        var innerInput = inputs[0];
        var innerWidth = innerInput.Type?.TensorType?.Shape?.Dim.LastOrDefault()?.DimValue ?? 0;
        if (innerWidth != width + features.Count)
            throw new StreamMlException($"the inner model takes {innerWidth} features; {width} inputs and {features.Count} derived features make {width + features.Count}");

        var graph = new GraphProto { Name = "streamml_derived" };
        var input = innerInput.Clone();
        input.Type.TensorType.Shape.Dim[^1].DimValue = width;
        graph.Input.Add(input);
        AddInitializer(graph, FloatTensor("derive_nan", [float.NaN], 1));
        var pieces = new List<string> { input.Name };
        for (var f = 0; f < features.Count; f++)
        {
            var (feature, leftColumn, rightColumn) = (features[f].Feature, features[f].LeftColumn, features[f].RightColumn);
            var name = $"derive_{f}";
            var left = Operand(graph, input.Name, $"{name}_a", leftColumn, feature.LeftConstant);
            var right = Operand(graph, input.Name, $"{name}_b", rightColumn, feature.RightConstant);
            var op = feature.Operator switch
            {
                DeriveOperator.Add => "Add",
                DeriveOperator.Subtract => "Sub",
                DeriveOperator.Multiply => "Mul",
                _ => "Div",
            };
            graph.Node.Add(Node(op, $"{name}_{op.ToLowerInvariant()}", [left, right], [$"{name}_raw"]));
            graph.Node.Add(Node("IsInf", $"{name}_isinf", [$"{name}_raw"], [$"{name}_inf"]));
            graph.Node.Add(Node("Where", $"{name}_where", [$"{name}_inf", "derive_nan", $"{name}_raw"], [$"{name}_value"]));
            pieces.Add($"{name}_value");
        }
        const string derived = "derived_features";
        graph.Node.Add(Node("Concat", "derive_concat", [.. pieces], [derived], "", Int("axis", 1)));
        var outputs = AddPrefixed(graph, inner.Graph, "der_", innerInput.Name, derived);
        for (var i = 0; i < inner.Graph.Output.Count; i++)
        {
            graph.Node.Add(Node("Identity", $"derive_out_{i}", [outputs[i]], [inner.Graph.Output[i].Name]));
            graph.Output.Add(inner.Graph.Output[i].Clone());
        }
        // From IR version 4 an initialiser need not be a graph input, and ONNX Runtime warns about (and does not
        // constant-fold) one that is: the indices and the NaN stay initialisers only.
        if (inner.IrVersion >= 4)
        {
            var own = graph.Initializer.Select(i => i.Name).Where(n => n.StartsWith("derive_", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            foreach (var declared in graph.Input.Where(i => own.Contains(i.Name)).ToList()) graph.Input.Remove(declared);
        }
        // IsInf needs opset 10.
        var model = Model(graph, [inner], $"StreamMl model with {features.Count} derived features", ("", 10));
        return model.ToByteArray();
    }

    private static string Operand(GraphProto graph, string input, string name, int column, float constant)
    {
        if (column < 0)
        {
            AddInitializer(graph, FloatTensor(name, [constant], 1));
            return name;
        }
        AddInitializer(graph, Int64Tensor(name + "_index", [column], 1));
        graph.Node.Add(Node("Gather", name + "_gather", [input, name + "_index"], [name], "", Int("axis", 1)));
        return name;
    }
}
