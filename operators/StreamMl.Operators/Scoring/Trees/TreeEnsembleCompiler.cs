namespace StreamMl.Operators.Scoring.Trees;

/// <summary>What a binary TreeEnsembleClassifier adds to its ensemble's score: the two class labels, the post
/// transform, and whether every leaf weight is non-negative (ONNX Runtime then reads the score as the probability of
/// the second class).</summary>
internal sealed record BinaryClassifier(long[] Labels, string PostTransform, bool WeightsAllPositive);

/// <summary>Turns the attributes of an <c>ai.onnx.ml</c> TreeEnsembleRegressor or TreeEnsembleClassifier node into a
/// <see cref="TreeEnsemble"/>, or says why it cannot (then the model runs on ONNX Runtime).</summary>
internal static class TreeEnsembleCompiler
{
    /// <summary>Compiles a single-target TreeEnsembleRegressor with post_transform NONE and SUM or AVERAGE
    /// aggregation. Returns null and a reason for anything else.</summary>
    public static TreeEnsemble? TryCompile(OnnxNode node, out string? reason)
    {
        reason = Check(node);
        return reason is null ? Compile(node, "target_", out reason) : null;
    }

    /// <summary>Compiles a binary TreeEnsembleClassifier whose leaves all vote for class id 0 (one score per row, as
    /// ONNX converters write LightGBM and gradient-boosting classifiers), with two int64 labels, no base values and
    /// post_transform NONE, LOGISTIC, SOFTMAX or SOFTMAX_ZERO. Returns null and a reason for anything else (random
    /// forests that vote for both classes, several classes, string labels, PROBIT).</summary>
    public static TreeEnsemble? TryCompileClassifier(OnnxNode node, out BinaryClassifier? classifier, out string? reason)
    {
        classifier = null;
        reason = CheckClassifier(node);
        if (reason is not null) return null;
        var a = node.Attributes;
        var post = a.TryGetValue("post_transform", out var p) ? p.S ?? "NONE" : "NONE";
        var ensemble = Compile(node, "class_", out reason);
        if (ensemble is null) return null;
        classifier = new BinaryClassifier([.. a["classlabels_int64s"].Ints], post, a["class_weights"].Floats.All(w => w >= 0));
        return ensemble;
    }

    private static TreeEnsemble? Compile(OnnxNode node, string weights, out string? reason)
    {
        reason = null;
        var a = node.Attributes;
        var treeIds = a["nodes_treeids"].Ints;
        var nodeIds = a["nodes_nodeids"].Ints;
        var features = a["nodes_featureids"].Ints;
        var values = a["nodes_values"].Floats;
        var modes = a["nodes_modes"].Strings;
        var trueIds = a["nodes_truenodeids"].Ints;
        var falseIds = a["nodes_falsenodeids"].Ints;
        var missing = a.TryGetValue("nodes_missing_value_tracks_true", out var m) ? m.Ints : null;
        var count = treeIds.Count;
        if (nodeIds.Count != count || features.Count != count || values.Count != count || modes.Count != count
            || trueIds.Count != count || falseIds.Count != count || (missing is not null && missing.Count != 0 && missing.Count != count))
        {
            reason = "node attribute lists have different lengths";
            return null;
        }

        var index = new Dictionary<(long Tree, long Node), int>(count);
        for (var i = 0; i < count; i++)
            if (!index.TryAdd((treeIds[i], nodeIds[i]), i)) { reason = $"node ({treeIds[i]}, {nodeIds[i]}) appears twice"; return null; }

        var parsedModes = new SplitMode?[count];
        for (var i = 0; i < count; i++)
        {
            parsedModes[i] = modes[i] switch
            {
                "BRANCH_LEQ" => SplitMode.Leq,
                "BRANCH_LT" => SplitMode.Lt,
                "BRANCH_GTE" => SplitMode.Gte,
                "BRANCH_GT" => SplitMode.Gt,
                "BRANCH_EQ" => SplitMode.Eq,
                "BRANCH_NEQ" => SplitMode.Neq,
                "LEAF" => null,
                _ => (SplitMode?)(SplitMode)255,
            };
            if (parsedModes[i] == (SplitMode)255) { reason = $"node mode '{modes[i]}'"; return null; }
        }

        // One weight per leaf. A leaf listed with several weights for the one target is declined: ONNX Runtime 1.31 does
        // not score it as their sum (generated ensembles with such leaves disagreed by whole weights), so ORT keeps it.
        var leafWeight = new float[count];
        var weighted = new bool[count];
        var targetTrees = a[weights + "treeids"].Ints;
        var targetNodes = a[weights + "nodeids"].Ints;
        var targetIds = a[weights + "ids"].Ints;
        var targetWeights = a[weights + "weights"].Floats;
        if (targetNodes.Count != targetTrees.Count || targetIds.Count != targetTrees.Count || targetWeights.Count != targetTrees.Count)
        {
            reason = "target attribute lists have different lengths";
            return null;
        }
        for (var t = 0; t < targetTrees.Count; t++)
        {
            if (targetIds[t] != 0) { reason = $"{weights}id {targetIds[t]} (only one target, or class 0 of a binary classifier, is handled)"; return null; }
            if (!index.TryGetValue((targetTrees[t], targetNodes[t]), out var leaf) || parsedModes[leaf] is not null)
            {
                reason = $"target weight on ({targetTrees[t]}, {targetNodes[t]}), which is not a leaf";
                return null;
            }
            if (weighted[leaf]) { reason = $"leaf ({targetTrees[t]}, {targetNodes[t]}) has several weights"; return null; }
            weighted[leaf] = true;
            leafWeight[leaf] = targetWeights[t];
        }

        // Every child must exist in its tree and have one parent.
        var hasParent = new bool[count];
        for (var i = 0; i < count; i++)
        {
            if (parsedModes[i] is null) continue;
            foreach (var child in (ReadOnlySpan<long>)[trueIds[i], falseIds[i]])
            {
                if (!index.TryGetValue((treeIds[i], child), out var c)) { reason = $"node ({treeIds[i]}, {nodeIds[i]}) points at missing node {child}"; return null; }
                if (hasParent[c]) { reason = $"node ({treeIds[i]}, {child}) has two parents"; return null; }
                hasParent[c] = true;
            }
        }

        var nodes = new List<TreeNode>(count);
        var nodeModes = new List<SplitMode>(count);
        var nodeMissing = new List<bool>(count);
        var leaves = new List<float>();
        var roots = new List<int>();
        var visited = new bool[count];
        var maxFeature = -1;
        var seenTrees = new HashSet<long>();
        string? failure = null;
        // Roots as ONNX Runtime takes them: the first node listed of each tree (its nodes must be listed together),
        // trees in the order listed, which is also the order of the sum. Nodes no root reaches are ignored, as there.
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && treeIds[i] == treeIds[i - 1]) continue;
            if (!seenTrees.Add(treeIds[i])) { reason = $"the nodes of tree {treeIds[i]} are not listed together"; return null; }
            roots.Add(Emit(i));
            if (failure is not null) { reason = failure; return null; }
        }

        var aggregate = a.TryGetValue("aggregate_function", out var agg) ? agg.S ?? "SUM" : "SUM";
        var baseValue = a.TryGetValue("base_values", out var bv) && bv.Floats.Count > 0 ? bv.Floats[0] : 0f;
        return new TreeEnsemble([.. nodes], [.. nodeModes], [.. nodeMissing], [.. leaves], [.. roots], aggregate == "AVERAGE", baseValue, maxFeature);

        // Depth-first, true child first: the node array of a tree is contiguous and a path mostly walks forward.
        int Emit(int i)
        {
            if (visited[i]) { failure = "a tree has a cycle"; return 0; }
            visited[i] = true;
            if (parsedModes[i] is not { } mode)
            {
                leaves.Add(leafWeight[i]);
                return ~(leaves.Count - 1);
            }
            if (features[i] < 0 || features[i] > int.MaxValue) { failure = $"feature id {features[i]}"; return 0; }
            var at = nodes.Count;
            nodes.Add(default);
            nodeModes.Add(mode);
            nodeMissing.Add(missing is { Count: > 0 } && missing[i] != 0);
            maxFeature = Math.Max(maxFeature, (int)features[i]);
            var t = Emit(index[(treeIds[i], trueIds[i])]);
            var f = Emit(index[(treeIds[i], falseIds[i])]);
            nodes[at] = new TreeNode { Feature = (int)features[i], Threshold = values[i], True = t, False = f };
            return at;
        }
    }

    private static string? CheckClassifier(OnnxNode node)
    {
        if (node.Domain != "ai.onnx.ml" || node.OpType != "TreeEnsembleClassifier") return $"{node.Domain}.{node.OpType} is not a TreeEnsembleClassifier";
        var a = node.Attributes;
        foreach (var name in (string[])["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                     "nodes_truenodeids", "nodes_falsenodeids", "class_treeids", "class_nodeids", "class_ids", "class_weights"])
            if (!a.ContainsKey(name)) return $"attribute {name} is missing";
        foreach (var attribute in a.Values)
            if (attribute.HasTensor || attribute.Name.EndsWith("_as_tensor", StringComparison.Ordinal)) return $"attribute {attribute.Name} (tensor form)";
        if (a.ContainsKey("classlabels_strings")) return "string class labels";
        if (!a.TryGetValue("classlabels_int64s", out var labels) || labels.Ints.Count != 2) return "not a binary classifier with int64 labels";
        if (a.TryGetValue("post_transform", out var post) && post.S is not (null or "NONE" or "LOGISTIC" or "SOFTMAX" or "SOFTMAX_ZERO")) return $"post_transform {post.S}";
        if (a.TryGetValue("base_values", out var bv) && bv.Floats.Count > 0) return "base values on a classifier";
        if (a["class_ids"].Ints.Any(id => id != 0)) return "leaves vote for class 1 as well (a forest of class probabilities)";
        return null;
    }

    private static string? Check(OnnxNode node)
    {
        if (node.Domain != "ai.onnx.ml" || node.OpType != "TreeEnsembleRegressor") return $"{node.Domain}.{node.OpType} is not a TreeEnsembleRegressor";
        var a = node.Attributes;
        foreach (var name in (string[])["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                     "nodes_truenodeids", "nodes_falsenodeids", "target_treeids", "target_nodeids", "target_ids", "target_weights"])
            if (!a.ContainsKey(name)) return $"attribute {name} is missing";
        foreach (var attribute in a.Values)
            if (attribute.HasTensor || attribute.Name.EndsWith("_as_tensor", StringComparison.Ordinal)) return $"attribute {attribute.Name} (tensor form)";
        if (a.TryGetValue("n_targets", out var targets) && targets.I != 1) return $"n_targets = {targets.I}";
        if (a.TryGetValue("post_transform", out var post) && post.S is not (null or "NONE")) return $"post_transform {post.S}";
        if (a.TryGetValue("aggregate_function", out var agg) && agg.S is not ("SUM" or "AVERAGE")) return $"aggregate_function {agg.S}";
        if (a.TryGetValue("base_values", out var bv) && bv.Floats.Count > 1) return "several base values";
        return null;
    }
}
