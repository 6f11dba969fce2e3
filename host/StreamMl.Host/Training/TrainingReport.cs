using StreamMl.Host.Registry;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>What a training run produced: validation results, the gates, and the registered version.</summary>
public sealed record TrainingReport
{
    /// <summary>Model name.</summary>
    public required string Name { get; init; }
    /// <summary>Task.</summary>
    public required LearningTask Task { get; init; }
    /// <summary>Trainer.</summary>
    public required string Trainer { get; init; }
    /// <summary>Rows used (after dropping rows with a missing target).</summary>
    public required int Rows { get; init; }
    /// <summary>Rows dropped because their target was missing.</summary>
    public int RowsWithoutTarget { get; init; }
    /// <summary>Records the source could not read (dead letters).</summary>
    public int RowsUnreadable { get; init; }
    /// <summary>Width of the feature matrix.</summary>
    public required int Features { get; init; }
    /// <summary>Cross-validation on the training split.</summary>
    public required CrossValidationResult CrossValidation { get; init; }
    /// <summary>The final model on the held-out rows (at the chosen threshold).</summary>
    public required EvaluationMetrics HeldOut { get; init; }
    /// <summary>The final model on its own training rows.</summary>
    public required EvaluationMetrics Train { get; init; }
    /// <summary>The chosen decision threshold (binary).</summary>
    public ThresholdChoice? Threshold { get; init; }
    /// <summary>The production model's score on the same held-out rows, when there was one.</summary>
    public double? ChampionScore { get; init; }
    /// <summary>The champion/challenger comparison and its numbers, or null without a production version.</summary>
    public ChampionDecision? Champion { get; init; }
    /// <summary>The gates.</summary>
    public required GateReport Gates { get; init; }
    /// <summary>Largest |ONNX Runtime − ML.NET| over the held-out predictions.</summary>
    public required double OnnxParity { get; init; }
    /// <summary>The registered version.</summary>
    public required ModelVersion Version { get; init; }
    /// <summary>True when the version was promoted to production.</summary>
    public required bool Promoted { get; init; }
    /// <summary>File line of each training-split row and its cross-validation fold (first repeat).</summary>
    public required IReadOnlyList<(long Line, int Fold)> FoldAssignment { get; init; }
    /// <summary>File lines of the held-out rows.</summary>
    public required IReadOnlyList<long> HeldOutLines { get; init; }
    /// <summary>The final model's held-out predictions (probability of class 1, value, or row-major class
    /// probabilities), in the order of <see cref="HeldOutLines"/>.</summary>
    public required float[] HeldOutPredictions { get; init; }
    /// <summary>Seconds per phase (load, features, cv, fit, export, register).</summary>
    public required IReadOnlyDictionary<string, double> Timings { get; init; }
    /// <summary>Trees of the final model chosen by early stopping (median over the folds); null without early stopping.</summary>
    public int? ChosenTrees { get; init; }
}
