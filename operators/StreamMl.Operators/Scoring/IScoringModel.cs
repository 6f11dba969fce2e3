namespace StreamMl.Operators.Scoring;

/// <summary>A model that <see cref="VariantScoringOperator"/> can route rows to: a name for the model column and a way to
/// create a scorer (one per worker). Plans compare models by reference.</summary>
public interface IScoringModel
{
    /// <summary>The name written to the model column of every row the model answers, e.g. <c>name@version</c>.</summary>
    string Id { get; }

    /// <summary>Input columns the model reads (checked when the stage is bound).</summary>
    IReadOnlyList<string> Inputs { get; }

    /// <summary>A new scorer for this model (the operator binds it and keeps it).</summary>
    IRowScorer CreateScorer();
}
