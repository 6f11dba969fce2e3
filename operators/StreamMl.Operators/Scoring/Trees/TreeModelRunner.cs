using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMl.Engine;
using StreamMl.Operators.Features.Internal;
using StreamMl.Operators.Scoring.Internal;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>Runs a <see cref="TreeModelProgram"/> for one scorer: reads the batch's feature columns in place (no
/// row-major gather), keeps one float column per program slot and one native buffer per model output, all sized once
/// for the batch capacity, so a batch allocates nothing.</summary>
internal sealed unsafe class TreeModelRunner : IScoringRunner
{
    private readonly TreeModelProgram _program;
    private readonly float[][] _slots;
    private readonly NativeBuffer[] _outputs;
    private readonly IntPtr[] _treeColumns;
    private readonly int _capacity;
    private readonly NativeBuffer? _matrix;
    private readonly NativeBuffer? _bitvectors;

    public TreeModelRunner(OnnxModel model, TreeModelProgram program, int capacity)
    {
        Model = model;
        _program = program;
        _capacity = capacity;
        _slots = Enumerable.Range(0, program.Slots).Select(_ => new float[capacity]).ToArray();
        _outputs = program.Outputs.Select(o => new NativeBuffer(checked(capacity * o.Slots.Length * o.Type switch
        {
            TensorElementType.Bool => 1,
            TensorElementType.Int64 => 8,
            _ => 4,
        }))).ToArray();
        _treeColumns = new IntPtr[program.FeatureMap.Length];
        // The bitvector layouts read the batch columns in place (tree by tree, no scratch either); the gathered walk
        // (trees of more than 32 leaves) reads a row-major block the runner lays out itself (the scorer's matrix is not
        // filled when no model needs it).
        if (program.Ensemble.CanEvaluateTreeMajor) return;
        if (program.Ensemble.Bitvectors is not null) _bitvectors = new NativeBuffer(program.Ensemble.BitvectorScratchBytes());
        else if (program.Ensemble.CanGather) _matrix = new NativeBuffer(checked(capacity * Math.Max(1, program.FeatureMap.Length) * sizeof(float)));
    }

    public OnnxModel Model { get; }

    public bool UsesMatrix => false;

    public NativeBuffer Output(int index) => _outputs[index];

    public void Run(int rows, ColumnBatch batch, IntPtr[] columns)
    {
        if (rows > _capacity) throw new ScoringException($"model '{Model.Name}' got a batch of {rows} rows; the scorer was sized for {_capacity}");
        var map = _program.FeatureMap;
        for (var f = 0; f < map.Length; f++) _treeColumns[f] = columns[map[f]];
        Evaluate(rows);
    }

    /// <summary>Scores rows whose tree features are <paramref name="treeColumns"/> (feature f of the ensemble at
    /// index f): the entry point for benchmarks and tests that hold columns rather than a batch.</summary>
    public void Run(int rows, ReadOnlySpan<IntPtr> treeColumns)
    {
        treeColumns.CopyTo(_treeColumns);
        Evaluate(rows);
    }

    private void Evaluate(int rows)
    {
        if (_program.Ensemble.CanEvaluateTreeMajor) _program.Ensemble.EvaluateTreeMajor(_treeColumns, rows, _slots[0]);
        else if (_bitvectors is not null) _program.Ensemble.EvaluateBitvectors(_treeColumns, rows, _slots[0], _bitvectors.GetSpan());
        else if (_matrix is not null && _treeColumns.Length > 0)
        {
            FeatureKernels.Interleave(_treeColumns, rows, new Span<float>(_matrix.Pointer, rows * _treeColumns.Length));
            _program.Ensemble.EvaluateGathered((float*)_matrix.Pointer, _treeColumns.Length, rows, _slots[0]);
        }
        else _program.Ensemble.Evaluate(_treeColumns, rows, _slots[0]);
        foreach (var step in _program.Steps) Apply(step, rows);
        var outputs = _program.Outputs;
        for (var o = 0; o < outputs.Length; o++)
        {
            var output = outputs[o];
            var source = _slots[output.Slots[0]].AsSpan(0, rows);
            switch (output.Type)
            {
                case TensorElementType.Bool:
                    var flags = _outputs[o].GetSpan();
                    for (var r = 0; r < rows; r++) flags[r] = source[r] != 0 ? (byte)1 : (byte)0;
                    break;
                case TensorElementType.Int64:
                    var labels = MemoryMarshal.Cast<byte, long>(_outputs[o].GetSpan());
                    var (negative, positive) = (output.Labels![0], output.Labels[1]);
                    for (var r = 0; r < rows; r++) labels[r] = source[r] != 0 ? positive : negative;
                    break;
                default:
                    var values = MemoryMarshal.Cast<byte, float>(_outputs[o].GetSpan());
                    if (output.Slots.Length == 1) source.CopyTo(values);
                    else
                    {
                        // Row-major [rows, width], as ONNX Runtime lays out a wide output.
                        var width = output.Slots.Length;
                        for (var c = 0; c < width; c++)
                        {
                            var column = _slots[output.Slots[c]];
                            for (var r = 0; r < rows; r++) values[r * width + c] = column[r];
                        }
                    }
                    break;
            }
        }
    }

    private void Apply(TreeModelProgram.Step step, int rows)
    {
        var x = _slots[step.Input].AsSpan(0, rows);
        var y = _slots[step.Output].AsSpan(0, rows);
        var c = step.Constant;
        switch (step.Kind)
        {
            case TreeModelProgram.StepKind.Sigmoid:
                Logistic.Compute(x, y);
                break;
            case TreeModelProgram.StepKind.ExactLogistic:
                for (var r = 0; r < rows; r++)
                {
                    var v = 1f / (1f + MathF.Exp(-Math.Abs(x[r])));
                    y[r] = x[r] < 0 ? 1f - v : v;
                }
                break;
            case TreeModelProgram.StepKind.Binarize:
                for (var r = 0; r < rows; r++) y[r] = x[r] > c ? 1f : 0f;
                break;
            case TreeModelProgram.StepKind.ToBool:
                for (var r = 0; r < rows; r++) y[r] = x[r] != 0 ? 1f : 0f;
                break;
            default:
                // Vectorised, each element still one IEEE operation as the row loop did it (x * c and c * x are the same
                // float, so only Sub and Div keep the operand order).
                if (step.Other >= 0)
                {
                    ReadOnlySpan<float> other = _slots[step.Other].AsSpan(0, rows);
                    ReadOnlySpan<float> p = step.ConstantFirst ? other : x, q = step.ConstantFirst ? x : other;
                    switch (step.Kind)
                    {
                        case TreeModelProgram.StepKind.Mul: TensorPrimitives.Multiply(p, q, y); break;
                        case TreeModelProgram.StepKind.Add: TensorPrimitives.Add(p, q, y); break;
                        case TreeModelProgram.StepKind.Sub: TensorPrimitives.Subtract(p, q, y); break;
                        default: TensorPrimitives.Divide(p, q, y); break;
                    }
                }
                else
                {
                    switch (step.Kind)
                    {
                        case TreeModelProgram.StepKind.Mul: TensorPrimitives.Multiply(x, c, y); break;
                        case TreeModelProgram.StepKind.Add: TensorPrimitives.Add(x, c, y); break;
                        case TreeModelProgram.StepKind.Sub when step.ConstantFirst: TensorPrimitives.Subtract(c, x, y); break;
                        case TreeModelProgram.StepKind.Sub: TensorPrimitives.Subtract(x, c, y); break;
                        case TreeModelProgram.StepKind.Div when step.ConstantFirst: TensorPrimitives.Divide(c, x, y); break;
                        default: TensorPrimitives.Divide(x, c, y); break;
                    }
                }
                break;
        }
    }

    public void Dispose()
    {
        foreach (var o in _outputs) o.Dispose();
        _matrix?.Dispose();
        _bitvectors?.Dispose();
    }
}
