using StreamMl.Engine;

namespace StreamMl.Operators.Scoring.Internal;

/// <summary>What the scorer needs from one model as it runs it: ONNX Runtime (<see cref="ModelRunner"/>) or the
/// engine's own tree evaluator (<see cref="Trees.TreeModelRunner"/>).</summary>
internal interface IScoringRunner : IDisposable
{
    OnnxModel Model { get; }

    /// <summary>True when the runner reads the scorer's row-major feature matrix.</summary>
    bool UsesMatrix { get; }

    /// <summary>Output <paramref name="index"/> for the last run, row-major [rows, width].</summary>
    NativeBuffer Output(int index);

    /// <summary>Scores the first <paramref name="rows"/> rows; <paramref name="columns"/> are the batch's feature
    /// columns in feature order.</summary>
    void Run(int rows, ColumnBatch batch, IntPtr[] columns);
}
