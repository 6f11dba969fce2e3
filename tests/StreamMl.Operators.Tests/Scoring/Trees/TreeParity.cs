using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Scoring.Trees;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>Runs a model two ways on the same row-major matrix: ONNX Runtime's own Run (one intra-op thread, zeros for
/// inputs other than the features) and the engine's tree evaluator on the matrix's columns; and compares.</summary>
internal static unsafe class TreeParity
{
    /// <summary>Relative tolerance of the issue (1e-6), with a floor for values near zero.</summary>
    public const double Tolerance = 1e-6;

    public static double[][] OrtRun(byte[] onnx, float[] matrix, int rows, int width, string featureInput = "Features")
    {
        using var options = OnnxModel.DefaultSessionOptions();
        using var session = new InferenceSession(onnx, options);
        var values = new List<OrtValue>();
        try
        {
            var inputs = new Dictionary<string, OrtValue>();
            foreach (var (name, meta) in session.InputMetadata)
            {
                long[] shape = meta.Dimensions.Length == 1 ? [rows] : [rows, meta.Dimensions[1] > 0 ? meta.Dimensions[1] : width];
                var value = name == featureInput
                    ? OrtValue.CreateTensorValueFromMemory(matrix.AsSpan(0, rows * width).ToArray(), [rows, width])
                    : meta.ElementDataType switch
                    {
                        TensorElementType.Bool => OrtValue.CreateTensorValueFromMemory(new bool[rows * shape[^1]], shape),
                        TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(new float[rows * shape[^1]], shape),
                        _ => throw new NotSupportedException(meta.ElementDataType.ToString()),
                    };
                values.Add(value);
                inputs[name] = value;
            }
            using var runOptions = new RunOptions();
            var names = session.OutputMetadata.Where(kv => kv.Value.IsTensor).Select(kv => kv.Key).ToArray();
            using var outputs = session.Run(runOptions, inputs, names);
            return outputs.Select(o => o.GetTensorTypeAndShape().ElementDataType switch
            {
                TensorElementType.Float => o.GetTensorDataAsSpan<float>().ToArray().Select(x => (double)x).ToArray(),
                TensorElementType.Bool => o.GetTensorDataAsSpan<bool>().ToArray().Select(x => x ? 1.0 : 0.0).ToArray(),
                TensorElementType.Int64 => o.GetTensorDataAsSpan<long>().ToArray().Select(x => (double)x).ToArray(),
                var t => throw new NotSupportedException(t.ToString()),
            }).ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>The evaluator's outputs (in <see cref="OnnxModel.Outputs"/> order), or null when it declines the model.</summary>
    public static double[][]? TreeRun(byte[] onnx, float[] matrix, int rows, int width, out string? reason, string featureInput = "Features")
    {
        using var model = OnnxModel.FromBytes(onnx, "parity");
        var program = model.TreeProgram(featureInput, Enumerable.Range(0, width).Select(i => $"f{i}").ToArray(), out reason);
        if (program is null) return null;
        using var runner = new TreeModelRunner(model, program, rows);
        var columns = new float[width][];
        for (var f = 0; f < width; f++)
        {
            columns[f] = new float[rows];
            for (var r = 0; r < rows; r++) columns[f][r] = matrix[r * width + f];
        }
        var handles = columns.Select(c => GCHandle.Alloc(c, GCHandleType.Pinned)).ToArray();
        try
        {
            runner.Run(rows, handles.Select(h => h.AddrOfPinnedObject()).ToArray());
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
        return program.Outputs.Select((o, i) => o.Type switch
        {
            TensorElementType.Bool => runner.Output(i).GetSpan()[..rows].ToArray().Select(b => (double)b).ToArray(),
            TensorElementType.Int64 => MemoryMarshal.Cast<byte, long>(runner.Output(i).GetSpan())[..rows].ToArray().Select(x => (double)x).ToArray(),
            _ => MemoryMarshal.Cast<byte, float>(runner.Output(i).GetSpan())[..(rows * o.Slots.Length)].ToArray().Select(x => (double)x).ToArray(),
        }).ToArray();
    }

    /// <summary>Largest relative difference |a - b| / max(|b|, 1e-3) over every output and row (NaN equals NaN).</summary>
    public static (double Worst, string Where) Compare(double[][] expected, double[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        var where = "";
        for (var o = 0; o < expected.Length; o++)
        {
            Assert.Equal(expected[o].Length, actual[o].Length);
            for (var r = 0; r < expected[o].Length; r++)
            {
                double e = expected[o][r], a = actual[o][r];
                if (double.IsNaN(e) && double.IsNaN(a)) continue;
                var d = Math.Abs(a - e) / Math.Max(Math.Abs(e), 1e-3);
                if (double.IsNaN(d) || d > worst) { worst = double.IsNaN(d) ? double.PositiveInfinity : d; where = $"output {o} row {r}: ORT {e:R}, evaluator {a:R}"; }
            }
        }
        return (worst, where);
    }
}
