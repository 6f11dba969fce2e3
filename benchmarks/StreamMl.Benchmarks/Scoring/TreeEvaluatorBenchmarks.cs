using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Scoring.Trees;

namespace StreamMl.Benchmarks.Scoring;

/// <summary>The model stage on a tree ensemble: a 100-tree, 31-leaf LightGBM binary model (ML.NET, exported to ONNX)
/// on one 4096-row batch of 32 float features, one thread. Baseline: ONNX Runtime's TreeEnsemble through
/// RunWithBinding on a prebuilt row-major tensor (one intra-op thread, as the engine configures it). Then the scorer
/// with <see cref="TreeEvaluator.Ort"/> and with <see cref="TreeEvaluator.Auto"/> (the engine's evaluator, reading the
/// batch columns in place), and the evaluator alone in four ways: 16-byte node array tree-major over 128-row
/// blocks (what the scorer uses for ensembles with other split modes), the same row-major (every tree for one row, then the next row), and
/// struct-of-arrays over 128-row blocks, and the AVX2 walk of eight rows in lockstep on a row-major block
/// (what the scorer used when every split is BRANCH_LEQ before the bitvectors), and the QuickScorer bitvectors feature by
/// feature over blocks of 32-256 rows and tree by tree with the bits in registers (what the scorer uses now for
/// BRANCH_LEQ ensembles of trees with at most 32 leaves; `tree-cpu` times these by thread CPU).
/// One operation = one batch of 4096 rows.</summary>
[MemoryDiagnoser]
public unsafe class TreeEvaluatorBenchmarks
{
    private const int Rows = ColumnBatch.DefaultCapacity;
    private const int Features = 32;

    private InferenceSession _session = null!;
    private OrtIoBinding _binding = null!;
    private RunOptions _runOptions = null!;
    private readonly List<OrtValue> _values = [];
    private OnnxModel _model = null!;
    private ScoringOperator _ortScorer = null!;
    private ScoringOperator _treeScorer = null!;
    private ColumnBatch _ortBatch = null!;
    private ColumnBatch _treeBatch = null!;
    private TreeModelRunner _runner = null!;
    private TreeEnsemble _ensemble = null!;
    private float[] _output = [];
    private IntPtr[] _columns = [];
    private GCHandle[] _handles = [];
    private NativeBuffer _matrix = null!;
    private NativeBuffer _bitvectorScratch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (onnx, matrix) = TreeBenchmarkModel.Create();

        using (var options = OnnxModel.DefaultSessionOptions()) _session = new InferenceSession(onnx, options);
        _runOptions = new RunOptions();
        _binding = _session.CreateIoBinding();
        Bind(true, "Features", OrtValue.CreateTensorValueFromMemory(matrix.AsSpan(0, Rows * Features).ToArray(), [Rows, Features]));
        Bind(true, "Label", OrtValue.CreateTensorValueFromMemory(new bool[Rows], [Rows, 1]));
        Bind(false, "Score.output", OrtValue.CreateTensorValueFromMemory(new float[Rows], [Rows, 1]));
        Bind(false, "Probability.output", OrtValue.CreateTensorValueFromMemory(new float[Rows], [Rows, 1]));
        Bind(false, "PredictedLabel.output", OrtValue.CreateTensorValueFromMemory(new bool[Rows], [Rows, 1]));

        _model = OnnxModel.FromBytes(onnx, "lightgbm-100x31");
        var names = Enumerable.Range(0, Features).Select(c => $"x{c}").ToArray();
        var schema = new Schema(names.Select(n => new Field(n, ColumnType.Float32)));
        _ortScorer = new ScoringOperator(_model, new ScoringOptions { FeatureColumns = names, TreeEvaluator = TreeEvaluator.Ort });
        _treeScorer = new ScoringOperator(_model, new ScoringOptions { FeatureColumns = names, TreeEvaluator = TreeEvaluator.Auto });
        _ortBatch = Fill(new ColumnBatch(_ortScorer.Bind(schema), Rows), matrix);
        _treeBatch = Fill(new ColumnBatch(_treeScorer.Bind(schema), Rows), matrix);
        _ortScorer.Score(_ortBatch);
        _treeScorer.Score(_treeBatch);
        if (!_treeScorer.UsesTreeEvaluator(_model) || _ortScorer.UsesTreeEvaluator(_model))
            throw new InvalidOperationException("the scorers did not pick the evaluators the benchmark names");

        var program = _model.TreeProgram("Features", names, out var reason) ?? throw new InvalidOperationException(reason);
        _ensemble = program.Ensemble;
        _runner = new TreeModelRunner(_model, program, Rows);
        var columns = Enumerable.Range(0, Features).Select(c => Enumerable.Range(0, Rows).Select(r => matrix[r * Features + c]).ToArray()).ToArray();
        _handles = columns.Select(c => GCHandle.Alloc(c, GCHandleType.Pinned)).ToArray();
        _columns = _handles.Select(h => h.AddrOfPinnedObject()).ToArray();
        _output = new float[Rows];
        _matrix = new NativeBuffer(Rows * Features * sizeof(float));
        matrix.AsSpan(0, Rows * Features).CopyTo(_matrix.AsSpan<float>());
        _bitvectorScratch = new NativeBuffer(_ensemble.BitvectorScratchBytes(256));
        Console.WriteLine($"// model: {_ensemble.Trees} trees, {_ensemble.Nodes} branch nodes");
    }

    private static ColumnBatch Fill(ColumnBatch batch, float[] matrix)
    {
        for (var c = 0; c < Features; c++)
        {
            var values = batch[c].Values<float>();
            for (var r = 0; r < Rows; r++) values[r] = matrix[r * Features + c];
        }
        batch.Length = Rows;
        return batch;
    }

    private void Bind(bool input, string name, OrtValue value)
    {
        _values.Add(value);
        if (input) _binding.BindInput(name, value); else _binding.BindOutput(name, value);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner.Dispose();
        _ortScorer.Dispose();
        _treeScorer.Dispose();
        _ortBatch.Dispose();
        _treeBatch.Dispose();
        _model.Dispose();
        _binding.Dispose();
        foreach (var v in _values) v.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
        foreach (var h in _handles) h.Free();
        _matrix.Dispose();
        _bitvectorScratch.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void OrtRunWithBinding() => _session.RunWithBinding(_runOptions, _binding);

    [Benchmark]
    public void ScorerOnOrt() => _ortScorer.Score(_ortBatch);

    [Benchmark]
    public void ScorerOnTreeEvaluator() => _treeScorer.Score(_treeBatch);

    [Benchmark]
    public void WholeGraphNodeArrayBlocks() => _runner.Run(Rows, _columns);

    [Benchmark]
    public void EnsembleNodeArrayBlocks128() => _ensemble.Evaluate(_columns, Rows, _output);

    [Benchmark]
    public void EnsembleNodeArrayRowMajor() => _ensemble.Evaluate(_columns, Rows, _output, blockRows: 1);

    [Benchmark]
    public void EnsembleGatheredAvx2() => _ensemble.EvaluateGathered((float*)_matrix.Pointer, Features, Rows, _output);

    [Benchmark]
    public void EnsembleStructOfArraysBlocks128() => _ensemble.EvaluateStructOfArrays(_columns, Rows, _output);

    [Benchmark]
    [Arguments(32)]
    [Arguments(64)]
    [Arguments(128)]
    [Arguments(256)]
    public void EnsembleBitvectors(int blockRows) => _ensemble.EvaluateBitvectors(_columns, Rows, _output, _bitvectorScratch.GetSpan(), blockRows);

    [Benchmark]
    public void EnsembleBitvectorsTreeMajor() => _ensemble.EvaluateTreeMajor(_columns, Rows, _output);

}

/// <summary><c>tree-cpu [samples]</c>: the bitvector layouts and the scorer on the benchmark model timed by thread CPU
/// time, interleaved sample by sample (median of the samples; 100 batches each), which holds on a loaded machine where
/// BenchmarkDotNet's wall clock does not.</summary>
internal static class TreeEvaluatorCpuProbe
{
    public static int Run(string[] args, TextWriter output)
    {
        var samples = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 11;
        const int OpsPerSample = 100;
        var bench = new TreeEvaluatorBenchmarks();
        bench.Setup();
        (string Name, Action Op)[] variants =
        [
            ("bitvectors, feature-major, 128-row blocks", () => bench.EnsembleBitvectors(128)),
            ("bitvectors, tree-major, 64 rows in registers, leaves by permute", bench.EnsembleBitvectorsTreeMajor),
            ("bitvectors, tree-major, 64 rows in registers, leaves by gather", () =>
            {
                BitvectorEnsemble.UsePermute = false;
                bench.EnsembleBitvectorsTreeMajor();
                BitvectorEnsemble.UsePermute = true;
            }),
            ("scorer on the tree evaluator (whole graph)", bench.ScorerOnTreeEvaluator),
        ];
        var times = variants.Select(_ => new List<double>()).ToArray();
        for (var sample = -2; sample < samples; sample++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var start = Drift.DriftIntegerCpuProbe.ThreadCpuMicros();
                for (var i = 0; i < OpsPerSample; i++) variants[v].Op();
                if (sample >= 0) times[v].Add((Drift.DriftIntegerCpuProbe.ThreadCpuMicros() - start) / OpsPerSample);
            }
        }
        output.WriteLine("variant | median CPU µs per 4096-row batch | ns per row | vs first");
        var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
        for (var v = 0; v < variants.Length; v++)
            output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{variants[v].Name} | {medians[v]:F1} | {medians[v] * 1000 / 4096:F1} | {medians[v] / medians[0]:F2}"));
        bench.Cleanup();
        return 0;
    }
}
