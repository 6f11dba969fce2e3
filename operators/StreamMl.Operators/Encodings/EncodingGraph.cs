using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.OnnxFormat;
using StreamMl.Operators.Learners;
using static StreamMl.OnnxFormat.OnnxBuilder;
using static StreamMl.Operators.OnnxGraphs.OnnxComposer;

namespace StreamMl.Operators.Encodings;

/// <summary>Puts fold-fitted category encodings into a model's ONNX graph: the matrix input is cut into its columns
/// (Gather), each encoded column goes through an ai.onnx.ml LabelEncoder holding the fitted table (category code →
/// target mean or frequency, anything else → the unseen value: the prior or 0), the pieces are concatenated back in
/// order and the inner model's graph (under the prefix enc_) reads the result. Served rows are therefore encoded by
/// the same float table as in training.</summary>
internal static class EncodingGraph
{
    public static byte[] Prepend(byte[] innerBytes, IReadOnlyList<CategoryEncoder> encoders)
    {
        var inner = OnnxReader.Parse(innerBytes, "the encoded model");
        var inputs = OnnxReader.DataInputs(inner.Graph);
        if (inputs.Count != 1) throw new StreamMlException($"the encoded model has {inputs.Count} data inputs; it must take one matrix");
        var input = inputs[0];
        var width = input.Type?.TensorType?.Shape?.Dim.LastOrDefault()?.DimValue ?? 0;
        if (width <= 0) throw new StreamMlException("the encoded model's input has no fixed feature count");
        var byColumn = encoders.ToDictionary(e => e.Column);
        if (byColumn.Keys.Any(c => c < 0 || c >= width))
            throw new StreamMlException($"an encoded column lies outside the model's {width} features");

        var graph = new GraphProto { Name = "streamml_encoded" };
        graph.Input.Add(input.Clone());
        var pieces = new List<string>();
        var column = 0;
        while (column < width)
        {
            if (byColumn.TryGetValue(column, out var encoder))
            {
                var name = $"encode_{column}";
                AddInitializer(graph, Int64Tensor(name + "_index", [column], 1));
                graph.Node.Add(Node("Gather", name + "_gather", [input.Name, name + "_index"], [name + "_code"], "", Int("axis", 1)));
                var table = encoder.Values.OrderBy(kv => kv.Key).ToArray();
                graph.Node.Add(Node("LabelEncoder", name + "_lookup", [name + "_code"], [name + "_value"], "ai.onnx.ml",
                    Floats("keys_floats", table.Select(kv => kv.Key)),
                    Floats("values_floats", table.Select(kv => kv.Value)),
                    Float("default_float", encoder.Unseen)));
                pieces.Add(name + "_value");
                column++;
                continue;
            }
            var start = column;
            while (column < width && !byColumn.ContainsKey(column)) column++;
            var run = $"keep_{start}_{column - 1}";
            AddInitializer(graph, Int64Tensor(run + "_index", [.. Enumerable.Range(start, column - start).Select(c => (long)c)], column - start));
            graph.Node.Add(Node("Gather", run + "_gather", [input.Name, run + "_index"], [run], "", Int("axis", 1)));
            pieces.Add(run);
        }
        const string encoded = "encoded_features";
        graph.Node.Add(Node("Concat", "encode_concat", [.. pieces], [encoded], "", Int("axis", 1)));
        var outputs = AddPrefixed(graph, inner.Graph, "enc_", input.Name, encoded);
        for (var i = 0; i < inner.Graph.Output.Count; i++)
        {
            graph.Node.Add(Node("Identity", $"encode_out_{i}", [outputs[i]], [inner.Graph.Output[i].Name]));
            graph.Output.Add(inner.Graph.Output[i].Clone());
        }
        var model = Model(graph, [inner], $"StreamMl model with {encoders.Count} fold-fitted category encodings", ("ai.onnx.ml", 2));
        return model.ToByteArray();
    }
}
