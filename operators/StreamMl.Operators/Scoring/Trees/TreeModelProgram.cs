using Microsoft.ML.OnnxRuntime.Tensors;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>A whole ONNX graph built around one TreeEnsembleRegressor (what ML.NET's converter writes for LightGBM,
/// FastTree and FastForest: the ensemble, then Identity, Mul/Add by a constant and Sigmoid for the calibrated
/// probability, Binarizer and Cast for the predicted label), compiled into a few column steps the scorer runs instead of
/// ONNX Runtime. Compiled once per model and shared: it holds no per-batch state (a <see cref="TreeModelRunner"/>
/// owns the buffers). <see cref="TryCompile"/> returns null, with the reason, for any graph holding a node, attribute,
/// type or shape it does not handle, and the model then runs on ONNX Runtime.</summary>
internal sealed class TreeModelProgram
{
    private TreeModelProgram(TreeEnsemble ensemble, Step[] steps, int slots, Output[] outputs, int[] featureMap)
    {
        Ensemble = ensemble;
        Steps = steps;
        Slots = slots;
        Outputs = outputs;
        FeatureMap = featureMap;
    }

    /// <summary>The ensemble; slot 0 receives its scores.</summary>
    public TreeEnsemble Ensemble { get; }

    /// <summary>The steps after the ensemble, in order.</summary>
    public Step[] Steps { get; }

    /// <summary>Float columns the steps use (slot 0 is the ensemble's).</summary>
    public int Slots { get; }

    /// <summary>Per model output, in the order of <see cref="OnnxModel.Outputs"/>: the slots that hold its values (one per
    /// value of a row), its type and, for a classifier's int64 label, the labels its slot indexes.</summary>
    public Output[] Outputs { get; }

    /// <summary>For tree feature f, the index of the scorer's feature column that holds it.</summary>
    public int[] FeatureMap { get; }

    /// <summary>Compiles <paramref name="onnx"/> for a scorer that feeds <paramref name="featureColumns"/> either as
    /// the matrix input <paramref name="featureInput"/> or (when it is null) one graph input per column.</summary>
    public static TreeModelProgram? TryCompile(ReadOnlySpan<byte> onnx, IReadOnlyList<ModelOutput> outputs, string? featureInput,
        IReadOnlyList<string> featureColumns, out string? reason)
    {
        OnnxGraph graph;
        try
        {
            graph = OnnxGraphReader.Read(onnx);
        }
        catch (InvalidDataException e)
        {
            reason = $"the ONNX bytes could not be read ({e.Message})";
            return null;
        }
        return new Builder(graph, featureInput, featureColumns).Build(outputs, out reason);
    }

    /// <summary>One elementwise step over float columns.</summary>
    internal sealed record Step(StepKind Kind, int Input, int Other, float Constant, bool ConstantFirst, int Output);

    /// <summary>A model output: <paramref name="Slots"/>[c] holds value c of each row; an int64 output's slot holds an
    /// index into <paramref name="Labels"/>.</summary>
    internal sealed record Output(int[] Slots, TensorElementType Type, long[]? Labels);

    /// <summary>Sigmoid is MLAS's approximation (ONNX's Sigmoid node); ExactLogistic is ONNX Runtime's
    /// <c>ComputeLogistic</c> (tree classifiers' LOGISTIC post transform): 1 / (1 + e^-|x|), mirrored for x &lt; 0.</summary>
    internal enum StepKind { Sigmoid, ExactLogistic, Binarize, ToBool, Mul, Add, Sub, Div }

    private sealed class Builder(OnnxGraph graph, string? featureInput, IReadOnlyList<string> featureColumns)
    {
        private readonly Dictionary<string, OnnxNode> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _slotOf = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _wideOf = new(StringComparer.Ordinal);
        private readonly Dictionary<int, long[]> _labelsOf = [];
        private readonly List<Step> _steps = [];
        private TreeEnsemble? _ensemble;
        private int[] _featureMap = [];
        private int _slots;
        private string? _failure;

        public TreeModelProgram? Build(IReadOnlyList<ModelOutput> outputs, out string? reason)
        {
            foreach (var node in graph.Nodes)
                foreach (var output in node.Outputs)
                    if (!_producer.TryAdd(output, node)) { reason = $"tensor '{output}' is produced twice"; return null; }
            var trees = graph.Nodes.Where(n => n.OpType is "TreeEnsembleRegressor" or "TreeEnsembleClassifier").ToArray();
            if (trees.Length != 1) { reason = $"the graph has {trees.Length} tree ensemble nodes (one is handled)"; return null; }
            var result = new List<Output>();
            foreach (var output in outputs)
            {
                if (output.ElementType is not (TensorElementType.Float or TensorElementType.Bool or TensorElementType.Int64))
                {
                    reason = $"output '{output.Name}' is {output.ElementType}";
                    return null;
                }
                int[] slots;
                if (output.Width == 1) slots = [Resolve(output.Name, 0)];
                else
                {
                    // Only a classifier's class scores are wider than one value per row.
                    if (_producer.TryGetValue(output.Name, out var producer)) Resolve(producer.Outputs[0], 0);
                    if (!_wideOf.TryGetValue(output.Name, out slots!) || slots.Length != output.Width || output.ElementType != TensorElementType.Float)
                    {
                        reason = _failure ?? $"output '{output.Name}' has {output.Width} values per row";
                        return null;
                    }
                }
                if (_failure is not null) { reason = _failure; return null; }
                var labels = _labelsOf.GetValueOrDefault(slots[0]);
                if ((output.ElementType == TensorElementType.Int64) != (labels is not null))
                {
                    reason = $"output '{output.Name}' is {output.ElementType}; only a classifier's label is int64";
                    return null;
                }
                result.Add(new Output(slots, output.ElementType, labels));
            }
            if (_ensemble is null) { reason = "no output depends on the tree ensemble"; return null; }
            reason = null;
            return new TreeModelProgram(_ensemble, [.. _steps], _slots, [.. result], _featureMap);
        }

        /// <summary>The slot holding tensor <paramref name="name"/>, compiling what produces it first.</summary>
        private int Resolve(string name, int depth)
        {
            if (_failure is not null) return 0;
            if (_slotOf.TryGetValue(name, out var known)) return known;
            if (depth > 64) return Fail("the graph is deeper than 64 nodes");
            if (!_producer.TryGetValue(name, out var node)) return Fail($"tensor '{name}' is a graph input or constant, not computed");
            int slot;
            switch (node.Domain, node.OpType)
            {
                case ("", "Identity"):
                    slot = Resolve(node.Inputs[0], depth + 1);
                    break;
                case ("", "Cast"):
                    var to = node.Attributes.TryGetValue("to", out var t) ? t.I : 0;
                    var source = Resolve(node.Inputs[0], depth + 1);
                    if (to == 1) slot = source;
                    else if (to == 9) slot = Add(new Step(StepKind.ToBool, source, -1, 0, false, _slots));
                    else return Fail($"Cast to ONNX type {to}");
                    break;
                case ("", "Sigmoid"):
                    slot = Add(new Step(StepKind.Sigmoid, Resolve(node.Inputs[0], depth + 1), -1, 0, false, _slots));
                    break;
                case ("ai.onnx.ml", "Binarizer"):
                    var threshold = node.Attributes.TryGetValue("threshold", out var th) ? th.F : 0f;
                    slot = Add(new Step(StepKind.Binarize, Resolve(node.Inputs[0], depth + 1), -1, threshold, false, _slots));
                    break;
                case ("", "Mul" or "Add" or "Sub" or "Div"):
                    slot = Arithmetic(node, depth);
                    break;
                case ("ai.onnx.ml", "TreeEnsembleClassifier"):
                    if (_ensemble is not null) return Fail("a second tree ensemble");
                    _ensemble = TreeEnsembleCompiler.TryCompileClassifier(node, out var classifier, out var declined);
                    if (_ensemble is null) return Fail(declined!);
                    if (!MapFeatures(node.Inputs[0], _ensemble.MaxFeature)) return 0;
                    if (_slots != 0) return Fail("the tree ensemble is not the first computed tensor");
                    slot = Classifier(node, classifier!);
                    if (name != node.Outputs[0]) return Fail($"tensor '{name}' holds two class scores per row and is read as one");
                    break;
                case ("ai.onnx.ml", "TreeEnsembleRegressor"):
                    if (_ensemble is not null) return Fail("a second tree ensemble");
                    _ensemble = TreeEnsembleCompiler.TryCompile(node, out var why);
                    if (_ensemble is null) return Fail(why!);
                    if (!MapFeatures(node.Inputs[0], _ensemble.MaxFeature)) return 0;
                    slot = _slots++;
                    if (slot != 0) return Fail("the tree ensemble is not the first computed tensor");
                    break;
                default:
                    return Fail($"node {(node.Domain.Length > 0 ? node.Domain + "." : "")}{node.OpType}");
            }
            _slotOf[name] = slot;
            return slot;
        }

        /// <summary>The steps after a binary classifier's score s (slot 0), as ONNX Runtime's tree classifier finishes a
        /// single-class score (measured against ONNX Runtime 1.31 in TreeClassifierParityTests): the label is the second
        /// when s &gt; 0.5 if every leaf weight is non-negative, else when s &gt; 0; the class scores are
        /// [logistic(-s), logistic(s)] for LOGISTIC, else [1 - s, s] with non-negative weights and [-s, s] without
        /// (SOFTMAX is not applied to a single score). Returns the label's slot; the scores' slots go to the node's second output.</summary>
        private int Classifier(OnnxNode node, BinaryClassifier classifier)
        {
            var score = _slots++;
            var label = Add(new Step(StepKind.Binarize, score, -1, classifier.WeightsAllPositive ? 0.5f : 0f, false, _slots));
            _labelsOf[label] = classifier.Labels;
            int first, second;
            if (classifier.PostTransform == "LOGISTIC")
            {
                var negated = Add(new Step(StepKind.Mul, score, -1, -1f, false, _slots));
                first = Add(new Step(StepKind.ExactLogistic, negated, -1, 0, false, _slots));
                second = Add(new Step(StepKind.ExactLogistic, score, -1, 0, false, _slots));
            }
            else if (classifier.WeightsAllPositive)
            {
                first = Add(new Step(StepKind.Sub, score, -1, 1f, true, _slots));
                second = score;
            }
            else
            {
                first = Add(new Step(StepKind.Mul, score, -1, -1f, false, _slots));
                second = score;
            }
            if (node.Outputs.Count > 1) _wideOf[node.Outputs[1]] = [first, second];
            _slotOf[node.Outputs[0]] = label;
            return label;
        }

        private int Arithmetic(OnnxNode node, int depth)
        {
            if (node.Inputs.Count != 2) return Fail($"{node.OpType} with {node.Inputs.Count} inputs");
            var kind = node.OpType switch { "Mul" => StepKind.Mul, "Add" => StepKind.Add, "Sub" => StepKind.Sub, _ => StepKind.Div };
            var left = Scalar(node.Inputs[0]);
            var right = Scalar(node.Inputs[1]);
            if (left is not null && right is not null) return Fail($"{node.OpType} of two constants");
            if (left is { } l) return Add(new Step(kind, Resolve(node.Inputs[1], depth + 1), -1, l, true, _slots));
            if (right is { } r) return Add(new Step(kind, Resolve(node.Inputs[0], depth + 1), -1, r, false, _slots));
            var a = Resolve(node.Inputs[0], depth + 1);
            var b = Resolve(node.Inputs[1], depth + 1);
            return Add(new Step(kind, a, b, 0, false, _slots));
        }

        private float? Scalar(string name)
        {
            if (graph.FloatInitializers.TryGetValue(name, out var values))
            {
                if (values.Length == 1) return values[0];
                Fail($"constant '{name}' has {values.Length} values (only scalars are handled)");
                return 0;
            }
            if (graph.OtherInitializers.Contains(name)) Fail($"constant '{name}' is not float");
            return null;
        }

        /// <summary>The ensemble's input must be the scorer's matrix input, or a Concat of the scorer's column inputs.</summary>
        private bool MapFeatures(string input, int maxFeature)
        {
            input = Unalias(input);
            if (featureInput is not null)
            {
                if (input != featureInput) { Fail($"the tree ensemble reads '{input}', not the feature input '{featureInput}'"); return false; }
                _featureMap = Enumerable.Range(0, featureColumns.Count).ToArray();
            }
            else
            {
                if (!_producer.TryGetValue(input, out var concat) || concat.OpType != "Concat" || concat.Domain != "")
                {
                    Fail($"the tree ensemble reads '{input}', which is not a Concat of the feature columns");
                    return false;
                }
                var map = new int[concat.Inputs.Count];
                for (var i = 0; i < map.Length; i++)
                {
                    var name = Unalias(concat.Inputs[i]);
                    map[i] = featureColumns.ToList().IndexOf(name);
                    if (map[i] < 0 || !graph.Inputs.Contains(name)) { Fail($"Concat input '{concat.Inputs[i]}' is not a feature column input"); return false; }
                }
                _featureMap = map;
            }
            if (maxFeature >= _featureMap.Length) { Fail($"the ensemble reads feature {maxFeature} of {_featureMap.Length}"); return false; }
            return true;
        }

        private string Unalias(string name)
        {
            for (var i = 0; i < 64 && _producer.TryGetValue(name, out var node) && node.Domain == ""
                && (node.OpType == "Identity" || (node.OpType == "Cast" && node.Attributes.TryGetValue("to", out var to) && to.I == 1)); i++)
                name = node.Inputs[0];
            return name;
        }

        private int Add(Step step)
        {
            if (_failure is not null) return 0;
            _steps.Add(step);
            return _slots++;
        }

        private int Fail(string reason)
        {
            _failure ??= reason;
            return 0;
        }
    }
}
