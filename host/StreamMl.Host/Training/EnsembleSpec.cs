namespace StreamMl.Host.Training;

/// <summary>An ensemble of the search's best models (<c>search: {ensemble: {method: stack, top: 3}}</c>), combined by
/// StreamMl.Operators.Ensembles.EnsembleLearner and exported as one ONNX graph.</summary>
public sealed class EnsembleSpec
{
    /// <summary>average (the mean of the members' predictions; every task) or stack (binary: a logistic stacker fitted on
    /// the members' out-of-fold predictions). Default average.</summary>
    public string Method { get; set; } = "average";

    /// <summary>How many of the search's best complete trials (on every row) become members, at least 2 (default 3).</summary>
    public int Top { get; set; } = 3;

    /// <summary>Stacking: folds of the inner cross-validation that gives the stacker its out-of-fold predictions (default 5).</summary>
    public int StackFolds { get; set; } = 5;

    /// <summary>Checks what can be checked without the data.</summary>
    internal void Check(string source, string task)
    {
        if (Method is not ("average" or "stack"))
            throw new Engine.StreamMlException($"{source}: search.ensemble.method '{Method}' is not average or stack");
        if (Method == "stack" && task != "binary")
            throw new Engine.StreamMlException($"{source}: search.ensemble.method 'stack' needs a binary target (this is {task}); use average");
        if (Top < 2) throw new Engine.StreamMlException($"{source}: search.ensemble.top must be at least 2 (an ensemble of one is that model)");
        if (StackFolds < 2) throw new Engine.StreamMlException($"{source}: search.ensemble.stackFolds must be at least 2");
    }
}
