using StreamMl.Engine;

namespace StreamMl.Operators.Scoring;

/// <summary>Scores the rows of a batch with one model into a float per row. An instance is used by one thread at a time;
/// <see cref="VariantScoringOperator"/> creates one per model and worker.</summary>
public interface IRowScorer
{
    /// <summary>Input columns the model reads; a selected row with a null or non-finite input is rejected before scoring.</summary>
    IReadOnlyList<string> Inputs { get; }

    /// <summary>Checks that the batches of <paramref name="schema"/> have the model's inputs; called once per schema.</summary>
    void Bind(Schema schema);

    /// <summary>Writes a score for each of the first <c>batch.Length</c> rows.</summary>
    void Score(ColumnBatch batch, Span<float> scores);
}
