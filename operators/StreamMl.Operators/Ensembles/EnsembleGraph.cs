using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.OnnxFormat;
using StreamMl.Operators.Learners;
using static StreamMl.OnnxFormat.OnnxBuilder;
using static StreamMl.Operators.OnnxGraphs.OnnxComposer;

namespace StreamMl.Operators.Ensembles;

/// <summary>Merges the members' exported graphs into one: shared matrix input, member nodes and initialisers under
/// m0_, m1_, ..., then the combination: ONNX Mean of the members' probabilities (binary) or scores (regression,
/// multiclass), or the stacker: Max/Min clip, log(q / (1 − q)), weighted Sum, bias, Sigmoid. The outputs keep the
/// first member's names and types (Score, Probability, PredictedLabel for binary), so an ensemble can replace a single
/// model in a rollout.</summary>
internal static class EnsembleGraph
{
    public static byte[] Build(LearningTask task, IReadOnlyList<byte[]> memberBytes, LogisticStacker? stacker)
    {
        var members = memberBytes.Select((b, i) => OnnxReader.Parse(b, $"ensemble member {i + 1}")).ToList();
        var input = OnnxReader.DataInputs(members[0].Graph);
        if (input.Count != 1) throw new StreamMlException($"ensemble member 1 has {input.Count} data inputs; members take one matrix");
        var inputName = input[0].Name;
        var graph = new GraphProto { Name = "streamml_ensemble" };
        graph.Input.Add(input[0].Clone());

        var role = task == LearningTask.Binary ? "Probability" : "Score";
        var memberOutputs = new List<string>();
        for (var m = 0; m < members.Count; m++)
        {
            var memberInputs = OnnxReader.DataInputs(members[m].Graph);
            if (memberInputs.Count != 1 || !SameShape(memberInputs[0], input[0]))
                throw new StreamMlException($"ensemble member {m + 1} does not read the same [rows, features] matrix as member 1");
            var index = OutputIndex(members[m].Graph, role);
            if (index < 0) throw new StreamMlException($"ensemble member {m + 1} has no '{role}' output");
            var outputs = AddPrefixed(graph, members[m].Graph, $"m{m}_", memberInputs[0].Name, inputName);
            memberOutputs.Add(outputs[index]);
        }

        var combined = "ensemble_" + role.ToLowerInvariant();
        string score;
        if (stacker is null)
        {
            graph.Node.Add(Node("Mean", "ensemble_mean", [.. memberOutputs], [combined]));
            score = combined;
        }
        else
        {
            AddInitializer(graph, FloatTensor("stack_low", [LogisticStacker.Epsilon]));
            AddInitializer(graph, FloatTensor("stack_high", [1f - LogisticStacker.Epsilon]));
            AddInitializer(graph, FloatTensor("stack_one", [1f]));
            AddInitializer(graph, FloatTensor("stack_bias", [stacker.Bias]));
            var terms = new List<string>();
            for (var m = 0; m < memberOutputs.Count; m++)
            {
                var p = $"stack_m{m}";
                AddInitializer(graph, FloatTensor(p + "_weight", [stacker.Weights[m]]));
                graph.Node.Add(Node("Max", p + "_max", [memberOutputs[m], "stack_low"], [p + "_above"]));
                graph.Node.Add(Node("Min", p + "_min", [p + "_above", "stack_high"], [p + "_clipped"]));
                graph.Node.Add(Node("Sub", p + "_sub", ["stack_one", p + "_clipped"], [p + "_complement"]));
                graph.Node.Add(Node("Div", p + "_div", [p + "_clipped", p + "_complement"], [p + "_odds"]));
                graph.Node.Add(Node("Log", p + "_log", [p + "_odds"], [p + "_logit"]));
                graph.Node.Add(Node("Mul", p + "_mul", [p + "_logit", p + "_weight"], [p + "_term"]));
                terms.Add(p + "_term");
            }
            graph.Node.Add(Node("Sum", "stack_sum", [.. terms], ["stack_weighted"]));
            graph.Node.Add(Node("Add", "stack_add_bias", ["stack_weighted", "stack_bias"], ["stack_score"]));
            graph.Node.Add(Node("Sigmoid", "stack_sigmoid", ["stack_score"], [combined]));
            score = "stack_score";
        }

        // The outputs, named and typed as the first member's.
        var first = members[0].Graph;
        var roleIndex = OutputIndex(first, role);
        for (var i = 0; i < first.Output.Count; i++)
        {
            var output = first.Output[i];
            var name = output.Name;
            string? source = null;
            if (i == roleIndex) source = combined;
            else if (task == LearningTask.Binary && name.StartsWith("Score", StringComparison.Ordinal)) source = score;
            if (source is not null)
            {
                graph.Node.Add(Node("Identity", "ensemble_out_" + graph.Output.Count, [source], [name]));
                graph.Output.Add(output.Clone());
            }
            else if (task == LearningTask.Binary && name.StartsWith("PredictedLabel", StringComparison.Ordinal)
                && output.Type?.TensorType?.ElemType == OnnxElementType.Bool)
            {
                // As a single model's: class 1 when the probability is above one half.
                if (!graph.Initializer.Any(t => t.Name == "ensemble_half")) AddInitializer(graph, FloatTensor("ensemble_half", [0.5f]));
                graph.Node.Add(Node("Greater", "ensemble_label", [combined, "ensemble_half"], [name]));
                graph.Output.Add(output.Clone());
            }
        }
        var model = Model(graph, members, $"StreamMl ensemble of {members.Count} models ({(stacker is null ? "mean" : "logistic stacker")})",
            ("", 8));
        return model.ToByteArray();
    }

    private static bool SameShape(ValueInfoProto a, ValueInfoProto b) =>
        a.Type?.TensorType?.ElemType == b.Type?.TensorType?.ElemType
        && a.Type?.TensorType?.Shape?.Dim.LastOrDefault()?.DimValue == b.Type?.TensorType?.Shape?.Dim.LastOrDefault()?.DimValue;
}
