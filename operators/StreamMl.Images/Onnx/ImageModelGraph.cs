using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.OnnxFormat;
using static StreamMl.OnnxFormat.OnnxBuilder;

namespace StreamMl.Images.Onnx;

/// <summary>Builds the image model as one ONNX graph: <c>image</c> [N, 3·224·224] (each row an image's RGB 0..255
/// planes, reshaped inside the graph to [N, 3, 224, 224], so the model takes a plain [rows, features] matrix like
/// every StreamMl model and the registry and scorers accept it) → the packaged
/// preprocessing (RGB → BGR, minus the mean image) → ResNet18 → <c>embedding</c> [N, 512] → optionally a linear
/// head and softmax → <c>probabilities</c> [N, classes]. The packaged graphs are CNTK exports with a batch of 1;
/// the composed graph's batch dimension is symbolic (<c>N</c>) so ONNX Runtime scores any batch size.</summary>
internal static class ImageModelGraph
{
    /// <summary>Name of the composed graph's input.</summary>
    public const string ImageInput = "image";

    /// <summary>Name of the backbone's flattened output.</summary>
    public const string EmbeddingOutput = "embedding";

    /// <summary>Name of the head's pre-softmax output.</summary>
    public const string LogitsOutput = "logits";

    /// <summary>Name of the head's class probabilities.</summary>
    public const string ProbabilitiesOutput = "probabilities";

    /// <summary>The symbolic batch dimension (<see cref="OnnxBuilder.Tensor"/>'s null dimension, <c>N</c>).</summary>
    private static readonly long? s_batch = null;

    /// <summary>Preprocessing + backbone with <see cref="EmbeddingOutput"/> as the output.</summary>
    public static ModelProto Featurizer(BackboneFiles files)
    {
        var prep = OnnxReader.Load(files.PreprocessPath);
        var backbone = OnnxReader.Load(files.BackbonePath);
        var prepInput = OnnxReader.DataInputs(prep.Graph).Single();
        var prepOutput = prep.Graph.Output.Single().Name;
        var backboneInput = OnnxReader.DataInputs(backbone.Graph).Single();
        var backboneOutput = backbone.Graph.Output.Single().Name;

        var graph = new GraphProto { Name = "streamml_image_featurizer" };
        var side = files.ImageSide;
        graph.Initializer.Add(Int64Tensor("image_shape", [-1, 3, side, side], 4));
        graph.Node.Add(Node("Reshape", "image_to_planes", [ImageInput, "image_shape"], ["image_planes"]));
        foreach (var node in prep.Graph.Node) graph.Node.Add(Renamed(node, prepInput.Name, "image_planes"));
        foreach (var node in backbone.Graph.Node) graph.Node.Add(Renamed(node, backboneInput.Name, prepOutput));
        graph.Node.Add(Node("Flatten", "flatten_embedding", [backboneOutput], [EmbeddingOutput], Int("axis", 1)));
        graph.Initializer.Add(prep.Graph.Initializer);
        graph.Initializer.Add(backbone.Graph.Initializer);

        // IR version 3 lists every initializer among the inputs as well.
        graph.Input.Add(Tensor(ImageInput, OnnxElementType.Float, s_batch, 3L * side * side));
        graph.Input.Add(Tensor("image_shape", OnnxElementType.Int64, 4));
        graph.Input.Add(prep.Graph.Input.Where(i => i.Name != prepInput.Name));
        graph.Input.Add(backbone.Graph.Input.Where(i => i.Name != backboneInput.Name));
        graph.Output.Add(Tensor(EmbeddingOutput, OnnxElementType.Float, s_batch, files.EmbeddingSize));

        var model = new ModelProto
        {
            IrVersion = backbone.IrVersion, ProducerName = "StreamMl", ProducerVersion = "1", Graph = graph,
            DocString = "StreamMl image featurizer: ResNet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18) with its preprocessing",
        };
        model.OpsetImport.Add(backbone.OpsetImport);
        return model;
    }

    /// <summary>The featurizer followed by <c>softmax(embedding · Wᵀ + b)</c>: <paramref name="weights"/> is
    /// [classes, embedding] row-major, <paramref name="biases"/> [classes].</summary>
    public static ModelProto WithLinearHead(ModelProto featurizer, ReadOnlySpan<float> weights, ReadOnlySpan<float> biases)
    {
        var classes = biases.Length;
        var width = weights.Length / Math.Max(1, classes);
        if (classes == 0 || weights.Length != classes * width)
            throw new StreamMlException($"head weights ({weights.Length} values) do not fit {classes} classes");
        var model = featurizer.Clone();
        var graph = model.Graph;
        graph.Name = "streamml_image_classifier";
        AddInitializer(graph, RawFloatTensor("head_weights", weights, classes, width));
        AddInitializer(graph, RawFloatTensor("head_biases", biases, classes));
        graph.Node.Add(Node("Gemm", "head_gemm", [EmbeddingOutput, "head_weights", "head_biases"], [LogitsOutput], Int("transB", 1)));
        graph.Node.Add(Node("Softmax", "head_softmax", [LogitsOutput], [ProbabilitiesOutput], Int("axis", 1)));
        graph.Output.Clear();
        graph.Output.Add(Tensor(ProbabilitiesOutput, OnnxElementType.Float, s_batch, classes));
        graph.Output.Add(Tensor(EmbeddingOutput, OnnxElementType.Float, s_batch, width));
        return model;
    }

    /// <summary>The featurizer followed by an MLP head: <c>softmax(W₂ · relu(W₁ · embedding + b₁) + b₂)</c>, weights
    /// row-major [hidden, embedding] and [classes, hidden] (<see cref="Heads.MlpHead"/>).</summary>
    public static ModelProto WithMlpHead(ModelProto featurizer, Heads.MlpHead head)
    {
        var model = featurizer.Clone();
        var graph = model.Graph;
        graph.Name = "streamml_image_classifier_mlp";
        (string Name, float[] Values, long[] Shape)[] parameters =
        [
            ("mlp_hidden_weights", head.HiddenWeights, [head.Hidden, head.Inputs]),
            ("mlp_hidden_biases", head.HiddenBiases, [head.Hidden]),
            ("mlp_output_weights", head.OutputWeights, [head.Classes, head.Hidden]),
            ("mlp_output_biases", head.OutputBiases, [head.Classes]),
        ];
        foreach (var (name, values, shape) in parameters) AddInitializer(graph, RawFloatTensor(name, values, shape));
        graph.Node.Add(Node("Gemm", "mlp_hidden_gemm", [EmbeddingOutput, "mlp_hidden_weights", "mlp_hidden_biases"], ["mlp_hidden_linear"], Int("transB", 1)));
        graph.Node.Add(Node("Relu", "mlp_hidden_relu", ["mlp_hidden_linear"], ["mlp_hidden"]));
        graph.Node.Add(Node("Gemm", "mlp_output_gemm", ["mlp_hidden", "mlp_output_weights", "mlp_output_biases"], [LogitsOutput], Int("transB", 1)));
        graph.Node.Add(Node("Softmax", "head_softmax", [LogitsOutput], [ProbabilitiesOutput], Int("axis", 1)));
        graph.Output.Clear();
        graph.Output.Add(Tensor(ProbabilitiesOutput, OnnxElementType.Float, s_batch, head.Classes));
        graph.Output.Add(Tensor(EmbeddingOutput, OnnxElementType.Float, s_batch, head.Inputs));
        return model;
    }

    /// <summary>The head's weights [classes, embedding] and biases read back from a composed model.</summary>
    public static (float[] Weights, float[] Biases) ReadLinearHead(ModelProto model)
    {
        var weights = model.Graph.Initializer.Single(t => t.Name == "head_weights");
        var biases = model.Graph.Initializer.Single(t => t.Name == "head_biases");
        return (OnnxReader.FloatValues(weights), OnnxReader.FloatValues(biases));
    }

    private static NodeProto Renamed(NodeProto node, string from, string to)
    {
        var copy = node.Clone();
        for (var i = 0; i < copy.Input.Count; i++) if (copy.Input[i] == from) copy.Input[i] = to;
        return copy;
    }
}
