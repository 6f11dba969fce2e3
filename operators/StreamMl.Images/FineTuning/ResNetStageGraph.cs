using System.Runtime.InteropServices;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Images.Onnx;
using StreamMl.OnnxFormat;

namespace StreamMl.Images.FineTuning;

/// <summary>Finds the last ResNet basic blocks in an image model's ONNX graph (walking back from the global average
/// pooling: <c>Relu(Add(BN(Conv(Relu(BN(Conv(x))))), x or BN(Conv1×1(x))))</c>), reads their weights with each batch
/// normalisation folded into its convolution, builds the graph cut at the first trainable block's input, and writes
/// tuned weights back (convolution weights replaced, batch normalisation set to the identity plus the folded bias).</summary>
internal sealed class ResNetStageGraph
{
    /// <summary>The cut graph's output: the first trainable block's input, [N, C, H, W].</summary>
    public const string StageInputOutput = "stage_input";

    private readonly ModelProto _model;
    private readonly Dictionary<string, TensorProto> _initializers;
    private readonly List<BlockNodes> _blocks;

    private sealed record ConvNodes(NodeProto Conv, NodeProto Norm);

    private sealed record BlockNodes(ConvNodes Conv1, ConvNodes Conv2, ConvNodes? Downsample, string Input);

    private ResNetStageGraph(ModelProto model, List<BlockNodes> blocks)
    {
        _model = model;
        _blocks = blocks;
        _initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Name of the tensor the trainable blocks start from.</summary>
    public string CutTensor => _blocks[0].Input;

    /// <summary>Channels of <see cref="CutTensor"/>.</summary>
    public int CutChannels => (int)_initializers[_blocks[0].Conv1.Conv.Input[1]].Dims[1];

    /// <summary>Finds the last <paramref name="blocks"/> basic blocks of <paramref name="model"/>.</summary>
    public static ResNetStageGraph Locate(ModelProto model, int blocks)
    {
        var graph = model.Graph;
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node) foreach (var output in node.Output) producer[output] = node;
        var pool = graph.Node.LastOrDefault(n => n.OpType is "AveragePool" or "GlobalAveragePool")
            ?? throw new StreamMlException("fine-tuning: the backbone graph has no global average pooling to start from");
        var found = new List<BlockNodes>();
        var blockOutput = pool.Input[0];
        for (var i = 0; i < blocks; i++)
        {
            var block = ReadBlock(producer, blockOutput)
                ?? throw new StreamMlException($"fine-tuning: the backbone does not end in {blocks} ResNet basic blocks (block {i + 1} from the end is not one)");
            found.Insert(0, block);
            blockOutput = block.Input;
        }
        return new ResNetStageGraph(model, found);
    }

    private static BlockNodes? ReadBlock(Dictionary<string, NodeProto> producer, string output)
    {
        NodeProto? Producer(string name, string op) => producer.TryGetValue(name, out var node) && node.OpType == op ? node : null;
        ConvNodes? ConvBefore(string normOutput)
        {
            var norm = Producer(normOutput, "BatchNormalization");
            var conv = norm is null ? null : Producer(norm.Input[0], "Conv");
            return conv is null ? null : new ConvNodes(conv, norm!);
        }

        var relu = Producer(output, "Relu");
        var add = relu is null ? null : Producer(relu.Input[0], "Add");
        if (add is null) return null;
        foreach (var (main, shortcut) in new[] { (add.Input[0], add.Input[1]), (add.Input[1], add.Input[0]) })
        {
            var conv2 = ConvBefore(main);
            if (conv2 is null || Kernel(conv2.Conv) != 3) continue;
            var innerRelu = Producer(conv2.Conv.Input[0], "Relu");
            var conv1 = innerRelu is null ? null : ConvBefore(innerRelu.Input[0]);
            if (conv1 is null) continue;
            var input = conv1.Conv.Input[0];
            if (shortcut == input) return new BlockNodes(conv1, conv2, null, input);
            var downsample = ConvBefore(shortcut);
            if (downsample is not null && downsample.Conv.Input[0] == input) return new BlockNodes(conv1, conv2, downsample, input);
        }
        return null;
    }

    /// <summary>The blocks as trainable layers, initialised with the graph's folded weights.</summary>
    public IReadOnlyList<BasicBlock> ReadBlocks() =>
        [.. _blocks.Select((b, i) => new BasicBlock(ReadConv(b.Conv1, $"block{i}.conv1"), ReadConv(b.Conv2, $"block{i}.conv2"),
            b.Downsample is null ? null : ReadConv(b.Downsample, $"block{i}.downsample")))];

    /// <summary>A copy of the model whose outputs are <see cref="StageInputOutput"/> (the cut tensor) and
    /// <paramref name="alsoOutput"/>; nodes that neither needs are dropped.</summary>
    public ModelProto CutModel(string alsoOutput)
    {
        var model = _model.Clone();
        var graph = model.Graph;
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node) foreach (var output in node.Output) producer[output] = node;
        var needed = new HashSet<NodeProto>();
        var pending = new Stack<string>([CutTensor, alsoOutput]);
        while (pending.Count > 0)
            if (producer.TryGetValue(pending.Pop(), out var node) && needed.Add(node))
                foreach (var input in node.Input) pending.Push(input);
        var kept = graph.Node.Where(needed.Contains).ToList();
        kept.Add(OnnxBuilder.Node("Identity", "stage_input_identity", [CutTensor], [StageInputOutput]));
        graph.Node.Clear();
        graph.Node.Add(kept);
        var used = kept.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var initializers = graph.Initializer.Where(t => used.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(initializers);
        var inputs = graph.Input.Where(i => used.Contains(i.Name) || i.Name == ImageModelGraph.ImageInput).ToList();
        graph.Input.Clear();
        graph.Input.Add(inputs);
        var also = graph.Output.FirstOrDefault(o => o.Name == alsoOutput)
            ?? throw new StreamMlException($"fine-tuning: the image model has no output '{alsoOutput}'");
        graph.Output.Clear();
        graph.Output.Add(new ValueInfoProto
        {
            Name = StageInputOutput,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxElementType.Float } },
        });
        graph.Output.Add(also);
        return model;
    }

    /// <summary>A copy of the model with the blocks' weights and the linear head replaced by <paramref name="network"/>'s.</summary>
    public ModelProto WithWeights(StageNetwork network)
    {
        var model = _model.Clone();
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        for (var i = 0; i < _blocks.Count; i++)
        {
            var nodes = _blocks[i];
            var block = network.Blocks[i];
            WriteConv(initializers, nodes.Conv1, block.Conv1);
            WriteConv(initializers, nodes.Conv2, block.Conv2);
            if (nodes.Downsample is not null) WriteConv(initializers, nodes.Downsample, block.Downsample!);
        }
        SetFloats(initializers["head_weights"], network.HeadWeights.Value);
        SetFloats(initializers["head_biases"], network.HeadBias.Value);
        return model;
    }

    private Conv2d ReadConv(ConvNodes nodes, string name)
    {
        var weightTensor = _initializers[nodes.Conv.Input[1]];
        var weights = OnnxReader.FloatValues(weightTensor);
        var outputs = (int)weightTensor.Dims[0];
        var inputs = (int)weightTensor.Dims[1];
        var kernel = (int)weightTensor.Dims[2];
        if (weightTensor.Dims[3] != kernel || Ints(nodes.Conv, "group", [1])[0] != 1 || Ints(nodes.Conv, "dilations", [1, 1]).Any(d => d != 1))
            throw new StreamMlException($"fine-tuning: convolution {nodes.Conv.Name} is not a plain square convolution");
        var strides = Ints(nodes.Conv, "strides", [1, 1]);
        var pads = Ints(nodes.Conv, "pads", [0, 0, 0, 0]);
        var convBias = nodes.Conv.Input.Count > 2 ? OnnxReader.FloatValues(_initializers[nodes.Conv.Input[2]]) : new float[outputs];
        var scale = OnnxReader.FloatValues(_initializers[nodes.Norm.Input[1]]);
        var shift = OnnxReader.FloatValues(_initializers[nodes.Norm.Input[2]]);
        var mean = OnnxReader.FloatValues(_initializers[nodes.Norm.Input[3]]);
        var variance = OnnxReader.FloatValues(_initializers[nodes.Norm.Input[4]]);
        var epsilon = Epsilon(nodes.Norm);
        var bias = new float[outputs];
        var patch = inputs * kernel * kernel;
        for (var o = 0; o < outputs; o++)
        {
            var factor = scale[o] / MathF.Sqrt(variance[o] + epsilon);
            System.Numerics.Tensors.TensorPrimitives.Multiply(weights.AsSpan(o * patch, patch), factor, weights.AsSpan(o * patch, patch));
            bias[o] = (convBias[o] - mean[o]) * factor + shift[o];
        }
        return new Conv2d(name, inputs, outputs, kernel, (int)strides[0], ((int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3]), weights, bias);
    }

    private static void WriteConv(Dictionary<string, TensorProto> initializers, ConvNodes nodes, Conv2d conv)
    {
        var epsilon = Epsilon(nodes.Norm);
        var outputs = conv.Outputs;
        SetFloats(initializers[nodes.Conv.Input[1]], conv.Weights.Value);
        if (nodes.Conv.Input.Count > 2) SetFloats(initializers[nodes.Conv.Input[2]], new float[outputs]);
        SetFloats(initializers[nodes.Norm.Input[1]], Enumerable.Repeat(1f, outputs).ToArray());
        SetFloats(initializers[nodes.Norm.Input[2]], conv.Bias.Value);
        SetFloats(initializers[nodes.Norm.Input[3]], new float[outputs]);
        SetFloats(initializers[nodes.Norm.Input[4]], Enumerable.Repeat(1f - epsilon, outputs).ToArray());
    }

    private static float Epsilon(NodeProto norm) => norm.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;

    private static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { Ints.Count: > 0 } attribute ? [.. attribute.Ints] : fallback;

    private static int Kernel(NodeProto conv) => (int)Ints(conv, "kernel_shape", [0])[0];

    private static void SetFloats(TensorProto tensor, float[] values)
    {
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}
