namespace StreamMl.Operators.Ensembles;

/// <summary>How an <see cref="EnsembleLearner"/> fits.</summary>
public sealed record EnsembleOptions
{
    /// <summary>Average (default) or stack.</summary>
    public EnsembleMethod Method { get; init; } = EnsembleMethod.Average;

    /// <summary>Stacking: folds of the inner cross-validation that gives the stacker its out-of-fold predictions (default 5).</summary>
    public int StackFolds { get; init; } = 5;

    /// <summary>Stacking: seed of the inner, stratified fold assignment (default 42).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Stacking: L2 penalty on the stacker's weights (not its intercept), per row fitted (default 1e-4).</summary>
    public double StackerL2 { get; init; } = 1e-4;
}
