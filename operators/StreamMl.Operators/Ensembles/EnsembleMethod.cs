namespace StreamMl.Operators.Ensembles;

/// <summary>How an <see cref="EnsembleLearner"/> combines its members' predictions.</summary>
public enum EnsembleMethod
{
    /// <summary>The plain mean of the members' predictions (probabilities, values or class probabilities).</summary>
    Average,

    /// <summary>Binary only: a logistic regression over the logits of the members' probabilities, fitted on the members'
    /// out-of-fold predictions (each row predicted by member models that did not see it), never on in-fold ones.</summary>
    Stack,
}
