using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Ensembles;

/// <summary>Fits several learners on the same rows and combines their predictions: the mean (binary, multiclass,
/// regression) or, for binary targets, a logistic stacker fitted on the members' out-of-fold predictions only (an inner
/// stratified cross-validation of every member on the rows fitted). The fitted model exports as one ONNX graph
/// (<see cref="EnsembleModel.ExportOnnx"/>). Inside <see cref="CrossValidator.Run"/>, each training fold fits its own
/// members and stacker, so a validation fold is never seen by either.</summary>
public sealed class EnsembleLearner : ILearner
{
    private readonly IReadOnlyList<ILearner> _members;

    /// <summary>Creates an ensemble of at least two members of the same task.</summary>
    public EnsembleLearner(IReadOnlyList<ILearner> members, EnsembleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count < 2) throw new StreamMlException($"an ensemble needs at least two members; got {members.Count}");
        Task = members[0].Task;
        if (members.Any(m => m.Task != Task)) throw new StreamMlException("the members of an ensemble must all do the same task");
        Options = options ?? new EnsembleOptions();
        if (Options.Method == EnsembleMethod.Stack && Task != LearningTask.Binary)
            throw new StreamMlException($"stacking needs a binary target (this is {Task.ToString().ToLowerInvariant()}); use method: average");
        if (Options.StackFolds < 2) throw new StreamMlException("stacking needs at least 2 inner folds");
        _members = members;
    }

    /// <inheritdoc/>
    public LearningTask Task { get; }

    /// <summary>How the members are combined.</summary>
    public EnsembleOptions Options { get; }

    /// <summary>The members, in order.</summary>
    public IReadOnlyList<ILearner> Members => _members;

    /// <inheritdoc/>
    public IFittedModel Fit(TrainingSet set)
    {
        LogisticStacker? stacker = null;
        if (Options.Method == EnsembleMethod.Stack)
            stacker = LogisticStacker.Fit(OutOfFold(set), _members.Count, set.Labels, set.Weights, Options.StackerL2);
        var models = _members.Select(m => m.Fit(set)).ToArray();
        return new EnsembleModel(Task, models, stacker);
    }

    /// <summary>The members' out-of-fold probabilities on <paramref name="set"/>, row-major [rows, members]: the rows are
    /// dealt to <see cref="EnsembleOptions.StackFolds"/> stratified folds and each fold is predicted by member models
    /// fitted on the other folds only. This, and nothing fitted on a row, is what the stacker learns from.</summary>
    public float[] OutOfFold(TrainingSet set)
    {
        var members = _members.Count;
        var result = new float[set.Rows * members];
        var folds = Math.Min(Options.StackFolds, Math.Max(2, set.ClassCounts().Where(c => c > 0).DefaultIfEmpty(2).Min()));
        var assignment = Folds.Stratified(set.Labels, folds, Options.Seed);
        for (var fold = 0; fold < folds; fold++)
        {
            var (train, validation) = Folds.Split(assignment, fold);
            var fitOn = set.Subset(train);
            var predictOn = set.Subset(validation);
            for (var m = 0; m < members; m++)
            {
                var predictions = _members[m].Fit(fitOn).Predict(predictOn);
                for (var i = 0; i < validation.Length; i++) result[validation[i] * members + m] = predictions[i];
            }
        }
        return result;
    }
}
