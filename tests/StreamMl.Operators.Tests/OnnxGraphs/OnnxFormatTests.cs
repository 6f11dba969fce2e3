using System.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.OnnxFormat;
using static StreamMl.OnnxFormat.OnnxBuilder;

namespace StreamMl.Operators.Tests.OnnxGraphs;

/// <summary>The shared ONNX format project (operators/StreamMl.OnnxFormat): a graph built with <see cref="OnnxBuilder"/>
/// is run by ONNX Runtime (a reader we did not write) and compared with the same arithmetic done here in plain loops;
/// <see cref="OnnxReader"/> reads back both float encodings and names the model that is not one.</summary>
public sealed class OnnxFormatTests
{
    private static readonly float[] s_weights = [0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f];   // [2, 3]
    private static readonly float[] s_biases = [0.1f, -0.2f];

    /// <summary>x [N, 3] → y = x · Wᵀ + b (W as raw bytes, b as a float list) → z = 2·y; g = x[:, 1] (Gather with an
    /// int64 index); outputs z [N, 2] and g [N, 1].</summary>
    private static byte[] Graph()
    {
        var graph = new GraphProto { Name = "builder_test" };
        graph.Input.Add(Tensor("x", OnnxElementType.Float, null, 3));
        AddInitializer(graph, RawFloatTensor("w", s_weights, 2, 3));
        AddInitializer(graph, FloatTensor("b", s_biases, 2));
        AddInitializer(graph, FloatTensor("two", [2f]));
        AddInitializer(graph, Int64Tensor("column", [1], 1));
        graph.Node.Add(Node("Gemm", "gemm", ["x", "w", "b"], ["y"], Int("transB", 1), Float("alpha", 1f)));
        graph.Node.Add(Node("Mul", "double", ["y", "two"], ["z"]));
        graph.Node.Add(Node("Gather", "pick", ["x", "column"], ["g"], "", Int("axis", 1)));
        graph.Output.Add(Tensor("z", OnnxElementType.Float, null, 2));
        graph.Output.Add(Tensor("g", OnnxElementType.Float, null, 1));
        var model = new ModelProto { IrVersion = 7, ProducerName = "StreamMl.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    [Fact]
    public void A_graph_built_with_the_builder_runs_in_onnx_runtime_as_the_plain_arithmetic()
    {
        const int rows = 5;
        var random = new Random(3);
        var x = Enumerable.Range(0, rows * 3).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        using var session = new InferenceSession(Graph());
        using var input = OrtValue.CreateTensorValueFromMemory(x, [rows, 3]);
        using var results = session.Run(new RunOptions(), ["x"], [input], ["z", "g"]);
        var z = results[0].GetTensorDataAsSpan<float>().ToArray();
        var g = results[1].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(new long[] { rows, 2 }, results[0].GetTensorTypeAndShape().Shape);
        Assert.Equal(new long[] { rows, 1 }, results[1].GetTensorTypeAndShape().Shape);
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                var y = (double)s_biases[o];
                for (var i = 0; i < 3; i++) y += x[r * 3 + i] * s_weights[o * 3 + i];
                Assert.Equal(2 * y, z[r * 2 + o], 5);
            }
            Assert.Equal(x[r * 3 + 1], g[r]);
        }
    }

    [Fact]
    public void The_reader_takes_the_graphs_data_inputs_and_both_float_encodings_back()
    {
        var model = OnnxReader.Parse(Graph(), "the test graph");
        Assert.Equal(["x"], OnnxReader.DataInputs(model.Graph).Select(i => i.Name));
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.False(initializers["w"].RawData.IsEmpty);
        Assert.Empty(initializers["b"].RawData);
        Assert.Equal(s_weights, OnnxReader.FloatValues(initializers["w"]));
        Assert.Equal(s_biases, OnnxReader.FloatValues(initializers["b"]));
    }

    [Fact]
    public void Bytes_that_are_not_onnx_get_an_error_naming_the_model_or_the_file()
    {
        var garbage = Encoding.UTF8.GetBytes("this is a text file, not a model");
        var parse = Assert.Throws<StreamMlException>(() => OnnxReader.Parse(garbage, "ensemble member 2"));
        Assert.StartsWith("ensemble member 2 is not an ONNX model", parse.Message);

        var path = Path.Combine(Path.GetTempPath(), $"streamml-not-onnx-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, garbage);
        try
        {
            var load = Assert.Throws<BadInputException>(() => OnnxReader.Load(path));
            Assert.StartsWith($"{path}: not an ONNX model", load.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
