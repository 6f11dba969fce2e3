using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Models;

/// <summary>Scores the rows of a batch with one model version. An instance is used by one thread at a time; the
/// model stage (<see cref="VariantScoringOperator"/>) creates one per worker.</summary>
internal interface IModelScorer : IRowScorer, IDisposable
{
    /// <summary>Classes of a multiclass model (known once bound); 0 for binary and regression models, whose score says it all.</summary>
    int ClassCount => 0;

    /// <summary>Multiclass models: the class scores of <paramref name="row"/> of the last <see cref="IRowScorer.Score"/> call, one
    /// per class (<see cref="ClassCount"/>).</summary>
    void ClassScores(int row, Span<float> destination) { }
}

/// <summary>A model version known to the host: how to create scorers for it, and what is known about it.</summary>
internal sealed record ModelEntry(
    string Name,
    string Version,
    string Kind,
    IReadOnlyList<string> Inputs,
    Func<IModelScorer> CreateScorer,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> Lineage) : IScoringModel
{
    IRowScorer IScoringModel.CreateScorer() => CreateScorer();

    /// <summary>What the score means: <c>binary</c> (the probability of class 1), <c>multiclass</c> (the best class's
    /// score) or <c>regression</c> (the value). Default binary.</summary>
    public string Task { get; init; } = "binary";

    /// <summary>Binary models: the probability of class 1 at or above which a row is labelled class 1. Default 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Class labels of a classifier in the order of its probabilities (binary: the negative class, then the
    /// positive one). Default <c>0, 1</c>; empty for regression.</summary>
    public IReadOnlyList<string> Classes { get; init; } = s_binaryClasses;

    private static readonly string[] s_binaryClasses = ["0", "1"];

    /// <summary><c>name@version</c>; computed once because the model stage writes it into every batch.</summary>
    public string Id { get; } = $"{Name}@{Version}";
}
