using StreamMl.Engine;

namespace StreamMl.Host.Models;

/// <summary>Scores the rows of a batch with one model version. An instance is used by one thread at a time; the
/// model router creates one per pipeline chain.</summary>
internal interface IModelScorer : IDisposable
{
    /// <summary>Input columns the model reads.</summary>
    IReadOnlyList<string> Inputs { get; }

    /// <summary>Checks that the batches of <paramref name="schema"/> have the model's inputs; called once per schema.</summary>
    void Bind(Schema schema);

    /// <summary>Writes a score for each of the first <c>batch.Length</c> rows (rows with null inputs are filtered before).</summary>
    void Score(ColumnBatch batch, Span<float> scores);
}

/// <summary>A model version known to the host: how to create scorers for it, and what is known about it.</summary>
internal sealed record ModelEntry(
    string Name,
    string Version,
    string Kind,
    IReadOnlyList<string> Inputs,
    Func<IModelScorer> CreateScorer,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> Lineage)
{
    /// <summary><c>name@version</c>; computed once because the model router writes it into every batch.</summary>
    public string Id { get; } = $"{Name}@{Version}";
}
