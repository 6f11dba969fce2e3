using System.Text;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>A random single-target tree ensemble as plain lists, written as an ONNX model of one
/// <c>ai.onnx.ml.TreeEnsembleRegressor</c> node (input "Features" float [N, features], output "Score" float [N, 1]) by a
/// minimal protobuf writer independent of the evaluator's reader.</summary>
internal sealed class RandomEnsemble
{
    public int Features { get; init; }
    public List<long> TreeIds { get; } = [];
    public List<long> NodeIds { get; } = [];
    public List<long> FeatureIds { get; } = [];
    public List<float> Values { get; } = [];
    public List<string> Modes { get; } = [];
    public List<long> TrueIds { get; } = [];
    public List<long> FalseIds { get; } = [];
    public List<long> MissingTracksTrue { get; } = [];
    public List<long> TargetTrees { get; } = [];
    public List<long> TargetNodes { get; } = [];
    public List<float> TargetWeights { get; } = [];
    public float? BaseValue { get; set; }
    public string Aggregate { get; set; } = "SUM";

    /// <summary>Whether some leaves get a second weight for the same target (the evaluator declines those; see
    /// TreeEnsembleCompiler).</summary>
    public bool MultiWeights { get; init; }

    private static readonly string[] s_modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"];

    /// <summary>Thresholds and inputs share a small grid, so equality splits are taken as well as not.</summary>
    public static float GridValue(Random random) => (random.Next(13) - 6) * 0.5f;

    public static RandomEnsemble Generate(Random random, int features, int trees, int maxDepth, bool mixedModes, bool multiWeights = false)
    {
        var ensemble = new RandomEnsemble { Features = features, MultiWeights = multiWeights };
        var treeId = 0L;
        for (var t = 0; t < trees; t++)
        {
            treeId += 1 + random.Next(3);
            var nodes = new List<(long Id, long Feature, float Value, string Mode, long True, long False, long Missing)>();
            var leaves = new List<(long Id, float Weight)>();
            var nextId = 0L;
            Build(0);
            // The root first (ONNX Runtime takes a tree's first listed node as its root, as ML.NET writes them), the
            // other nodes shuffled so the compiler cannot rely on their order.
            var order = nodes.Select(n => n.Id).Concat(leaves.Select(l => l.Id)).Where(id => id != 0).OrderBy(_ => random.Next()).Prepend(0L).ToArray();
            foreach (var id in order)
            {
                var branch = nodes.FindIndex(n => n.Id == id);
                ensemble.TreeIds.Add(treeId);
                ensemble.NodeIds.Add(id);
                if (branch >= 0)
                {
                    var n = nodes[branch];
                    ensemble.FeatureIds.Add(n.Feature);
                    ensemble.Values.Add(n.Value);
                    ensemble.Modes.Add(n.Mode);
                    ensemble.TrueIds.Add(n.True);
                    ensemble.FalseIds.Add(n.False);
                    ensemble.MissingTracksTrue.Add(n.Missing);
                }
                else
                {
                    ensemble.FeatureIds.Add(0);
                    ensemble.Values.Add(0);
                    ensemble.Modes.Add("LEAF");
                    ensemble.TrueIds.Add(0);
                    ensemble.FalseIds.Add(0);
                    ensemble.MissingTracksTrue.Add(0);
                    var leaf = leaves.First(l => l.Id == id);
                    ensemble.TargetTrees.Add(treeId);
                    ensemble.TargetNodes.Add(id);
                    ensemble.TargetWeights.Add(leaf.Weight);
                    if (multiWeights && random.Next(4) == 0)
                    {
                        ensemble.TargetTrees.Add(treeId);
                        ensemble.TargetNodes.Add(id);
                        ensemble.TargetWeights.Add((float)(random.NextDouble() - 0.5));
                    }
                }
            }

            long Build(int depth)
            {
                var id = nextId++;
                if (depth >= maxDepth || (depth > 0 && random.Next(4) == 0))
                {
                    leaves.Add((id, (float)(random.NextDouble() * 4 - 2)));
                    return id;
                }
                var index = nodes.Count;
                nodes.Add(default);
                var feature = random.Next(features);
                var value = random.Next(3) == 0 ? (float)(random.NextDouble() * 6 - 3) : GridValue(random);
                var mode = mixedModes ? s_modes[random.Next(s_modes.Length)] : "BRANCH_LEQ";
                var missing = random.Next(3) == 0 ? 1L : 0L;
                var left = Build(depth + 1);
                var right = Build(depth + 1);
                nodes[index] = (id, feature, value, mode, left, right, missing);
                return id;
            }
        }
        if (random.Next(2) == 0) ensemble.BaseValue = (float)(random.NextDouble() * 2 - 1);
        ensemble.Aggregate = random.Next(3) == 0 ? "AVERAGE" : "SUM";
        return ensemble;
    }

    /// <summary>The ensemble as a binary <c>TreeEnsembleClassifier</c> (every leaf weight for class id 0, labels
    /// <paramref name="labels"/>, no base values): input "Features", outputs "label" int64 [N] and "probabilities" float
    /// [N, 2], the shape ONNX converters give LightGBM and gradient-boosting classifiers before ZipMap.</summary>
    public byte[] ToClassifierOnnx(string postTransform, long[] labels, long lastVoteClass = 0)
    {
        var node = new Proto();
        node.String(1, "Features").String(2, "label").String(2, "probabilities").String(3, "trees").String(4, "TreeEnsembleClassifier").String(7, "ai.onnx.ml");
        node.Message(5, Ints("nodes_treeids", TreeIds)).Message(5, Ints("nodes_nodeids", NodeIds)).Message(5, Ints("nodes_featureids", FeatureIds))
            .Message(5, Floats("nodes_values", Values)).Message(5, Strings("nodes_modes", Modes))
            .Message(5, Ints("nodes_truenodeids", TrueIds)).Message(5, Ints("nodes_falsenodeids", FalseIds))
            .Message(5, Ints("nodes_missing_value_tracks_true", MissingTracksTrue))
            .Message(5, Ints("class_treeids", TargetTrees)).Message(5, Ints("class_nodeids", TargetNodes))
            .Message(5, Ints("class_ids", TargetTrees.Select((_, i) => i == TargetTrees.Count - 1 ? lastVoteClass : 0L).ToList())).Message(5, Floats("class_weights", TargetWeights))
            .Message(5, Ints("classlabels_int64s", [.. labels]))
            .Message(5, new Proto().String(1, "post_transform").String(4, postTransform).Varint(20, 3));
        var graph = new Proto().Message(1, node).String(2, "random-classifier")
            .Message(11, ValueInfo("Features", Features)).Message(12, ValueInfo("label", 0, elementType: 7)).Message(12, ValueInfo("probabilities", 2));
        var model = new Proto().Varint(1, 8).String(2, "streamml-tests")
            .Message(8, new Proto().String(1, "").Varint(2, 13))
            .Message(8, new Proto().String(1, "ai.onnx.ml").Varint(2, 3))
            .Message(7, graph);
        return model.ToArray();
    }

    public byte[] ToOnnx()
    {
        var node = new Proto();
        node.String(1, "Features").String(2, "Score").String(3, "trees").String(4, "TreeEnsembleRegressor").String(7, "ai.onnx.ml");
        node.Message(5, Ints("nodes_treeids", TreeIds)).Message(5, Ints("nodes_nodeids", NodeIds)).Message(5, Ints("nodes_featureids", FeatureIds))
            .Message(5, Floats("nodes_values", Values)).Message(5, Strings("nodes_modes", Modes))
            .Message(5, Ints("nodes_truenodeids", TrueIds)).Message(5, Ints("nodes_falsenodeids", FalseIds))
            .Message(5, Ints("nodes_missing_value_tracks_true", MissingTracksTrue))
            .Message(5, Ints("target_treeids", TargetTrees)).Message(5, Ints("target_nodeids", TargetNodes))
            .Message(5, Ints("target_ids", TargetTrees.Select(_ => 0L).ToList())).Message(5, Floats("target_weights", TargetWeights))
            .Message(5, new Proto().String(1, "n_targets").Varint(3, 1).Varint(20, 2))
            .Message(5, new Proto().String(1, "aggregate_function").String(4, Aggregate).Varint(20, 3))
            .Message(5, new Proto().String(1, "post_transform").String(4, "NONE").Varint(20, 3));
        if (BaseValue is { } b) node.Message(5, Floats("base_values", [b]));
        var graph = new Proto().Message(1, node).String(2, "random-trees")
            .Message(11, ValueInfo("Features", Features)).Message(12, ValueInfo("Score", 1));
        var model = new Proto().Varint(1, 8).String(2, "streamml-tests")
            .Message(8, new Proto().String(1, "").Varint(2, 13))
            .Message(8, new Proto().String(1, "ai.onnx.ml").Varint(2, 3))
            .Message(7, graph);
        return model.ToArray();
    }

    /// <summary>A tensor value info: float (1) or another ONNX element type, shape [N, width] or [N] for width 0.</summary>
    private static Proto ValueInfo(string name, int width, int elementType = 1)
    {
        var shape = new Proto().Message(1, new Proto().String(2, "N"));
        if (width > 0) shape.Message(1, new Proto().Varint(1, (ulong)width));
        var tensor = new Proto().Varint(1, (ulong)elementType).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensor));
    }

    private static Proto Ints(string name, List<long> values)
    {
        var p = new Proto().String(1, name);
        foreach (var v in values) p.Varint(8, (ulong)v);
        return p.Varint(20, 7);
    }

    private static Proto Floats(string name, List<float> values)
    {
        var p = new Proto().String(1, name);
        foreach (var v in values) p.Fixed32(7, v);
        return p.Varint(20, 6);
    }

    private static Proto Strings(string name, List<string> values)
    {
        var p = new Proto().String(1, name);
        foreach (var v in values) p.String(9, v);
        return p.Varint(20, 8);
    }

    private sealed class Proto
    {
        private readonly MemoryStream _stream = new();

        public Proto Varint(int field, ulong value)
        {
            Key(field, 0);
            Raw(value);
            return this;
        }

        public Proto Fixed32(int field, float value)
        {
            Key(field, 5);
            _stream.Write(BitConverter.GetBytes(value));
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _stream.ToArray();

        private Proto Bytes(int field, byte[] bytes)
        {
            Key(field, 2);
            Raw((ulong)bytes.Length);
            _stream.Write(bytes);
            return this;
        }

        private void Key(int field, int wire) => Raw((ulong)((field << 3) | wire));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _stream.WriteByte((byte)value);
        }
    }
}
