using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Ensembles;

/// <summary>A fitted ensemble: its member models and, when stacked, the logistic stacker.</summary>
public sealed class EnsembleModel : IFittedModel
{
    private readonly IFittedModel[] _members;

    internal EnsembleModel(LearningTask task, IFittedModel[] members, LogisticStacker? stacker)
    {
        Task = task;
        _members = members;
        Stacker = stacker;
        Classes = members[0].Classes;
    }

    /// <inheritdoc/>
    public LearningTask Task { get; }

    /// <inheritdoc/>
    public int Classes { get; }

    /// <summary>The fitted members, in order.</summary>
    public IReadOnlyList<IFittedModel> Members => _members;

    /// <summary>The stacker (method stack), or null for the plain mean.</summary>
    public LogisticStacker? Stacker { get; }

    /// <inheritdoc/>
    public float[] Predict(TrainingSet set)
    {
        var predictions = _members.Select(m => m.Predict(set)).ToArray();
        var result = new float[predictions[0].Length];
        if (Stacker is null)
        {
            // Sum then divide, in float, the order ONNX's Mean uses.
            for (var i = 0; i < result.Length; i++)
            {
                var sum = 0f;
                foreach (var p in predictions) sum += p[i];
                result[i] = sum / predictions.Length;
            }
            return result;
        }
        Span<float> row = stackalloc float[predictions.Length];
        for (var i = 0; i < result.Length; i++)
        {
            for (var m = 0; m < predictions.Length; m++) row[m] = predictions[m][i];
            result[i] = Stacker.Combine(row).Probability;
        }
        return result;
    }

    /// <summary>Writes one ONNX graph: every member's exported graph under its own prefix (m0_, m1_, ...), all reading
    /// the one matrix input, and the mean or the stacker on top; the outputs are named as a single member's are.</summary>
    public void ExportOnnx(Stream stream)
    {
        var members = _members.Select(m =>
        {
            using var buffer = new MemoryStream();
            m.ExportOnnx(buffer);
            return buffer.ToArray();
        }).ToList();
        var bytes = EnsembleGraph.Build(Task, members, Stacker);
        stream.Write(bytes);
    }
}
