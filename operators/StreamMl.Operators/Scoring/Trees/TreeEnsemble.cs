using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>Split rule of one tree node, as ONNX <c>nodes_modes</c> names it.</summary>
internal enum SplitMode : byte
{
    /// <summary>x &lt;= threshold goes to the true child.</summary>
    Leq,
    /// <summary>x &lt; threshold.</summary>
    Lt,
    /// <summary>x &gt;= threshold.</summary>
    Gte,
    /// <summary>x &gt; threshold.</summary>
    Gt,
    /// <summary>x == threshold (categorical splits).</summary>
    Eq,
    /// <summary>x != threshold.</summary>
    Neq,
}

/// <summary>One branch node, 16 bytes so four share a cache line: the feature column, the threshold, and the two
/// children. A child index &gt;= 0 is another node of the same ensemble array; a negative one is <c>~leaf</c>, an index
/// into the leaf values.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TreeNode
{
    public int Feature;
    public float Threshold;
    public int True;
    public int False;
}

/// <summary>A single-target ONNX tree ensemble compiled for batch evaluation. Trees keep their nodes contiguous
/// (depth-first from the root, so a path walks forward in memory), leaves are plain floats, and evaluation is tree-major
/// over blocks of <see cref="BlockRows"/> rows: one tree's nodes stay in L1 while it meets every row of the block.
/// <para>Semantics follow ONNX Runtime's TreeEnsembleRegressor for float input (TreeEnsembleCommon&lt;float, float,
/// float&gt;): per row, leaf weights are added in float in tree order starting from 0, then divided by the tree count
/// for AVERAGE, then the base value is added. A NaN feature goes to the true child only when the node's
/// <c>nodes_missing_value_tracks_true</c> is set (for NEQ a NaN compares unequal and goes true anyway).</para></summary>
internal sealed unsafe class TreeEnsemble
{
    /// <summary>Rows per block. 128 rows x 4 bytes of running score is 512 B (8 cache lines) beside the tree's nodes;
    /// see docs/BENCHMARKS.md "Model stage: tree evaluator" for the block sizes tried.</summary>
    public const int BlockRows = 128;

    private readonly TreeNode[] _nodes;
    private readonly SplitMode[] _modes;
    private readonly bool[] _missingTrue;
    private readonly float[] _leaves;
    private readonly int[] _roots;
    private readonly bool _allLeq;
    private readonly bool _anyMissingTrue;

    public TreeEnsemble(TreeNode[] nodes, SplitMode[] modes, bool[] missingTrue, float[] leaves, int[] roots, bool average, float baseValue, int maxFeature)
    {
        _nodes = nodes;
        _modes = modes;
        _missingTrue = missingTrue;
        _leaves = leaves;
        _roots = roots;
        Average = average;
        BaseValue = baseValue;
        MaxFeature = maxFeature;
        _allLeq = modes.All(m => m == SplitMode.Leq);
        _anyMissingTrue = missingTrue.Any(m => m);
        // Built here, not on first use: an ensemble is shared by scorers on several threads.
        _soa = (nodes.Select(n => n.Feature).ToArray(), nodes.Select(n => n.Threshold).ToArray(),
            nodes.Select(n => n.True).ToArray(), nodes.Select(n => n.False).ToArray());
        _missingMask = missingTrue.Select(m => m ? -1 : 0).ToArray();
        _children = nodes.SelectMany(n => new[] { n.True, n.False }).ToArray();
        Bitvectors = BitvectorEnsemble.TryBuild(nodes, modes, missingTrue, leaves, roots);
    }

    /// <summary>The QuickScorer layout of this ensemble, or null when a tree has more than 32 leaves or the CPU lacks
    /// AVX2 (see <see cref="EvaluateBitvectors"/>).</summary>
    public BitvectorEnsemble? Bitvectors { get; }

    /// <summary>Bytes of scratch <see cref="EvaluateBitvectors"/> needs for blocks of <paramref name="blockRows"/> rows.</summary>
    public int BitvectorScratchBytes(int blockRows = BitvectorEnsemble.DefaultBlockRows) => Bitvectors?.ScratchBytes(blockRows) ?? 0;

    /// <summary>Scores rows [0, <paramref name="rows"/>) of the batch columns in place with the QuickScorer layout
    /// (<see cref="BitvectorEnsemble"/>), the last rows % 8 through the node walk; same results as
    /// <see cref="Evaluate(ReadOnlySpan{IntPtr}, int, Span{float})"/> bit for bit. What the scorer uses when
    /// <see cref="Bitvectors"/> is not null (TreeEvaluatorBenchmarks).</summary>
    public void EvaluateBitvectors(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output, Span<byte> scratch, int blockRows = BitvectorEnsemble.DefaultBlockRows)
    {
        var layout = Bitvectors ?? throw new NotSupportedException("the bitvector layout needs trees of at most 32 leaves and AVX2");
        if (output.Length < rows) throw new ArgumentException("output is shorter than the rows", nameof(output));
        if (columns.Length <= MaxFeature) throw new ArgumentException($"the ensemble reads feature {MaxFeature} but {columns.Length} columns were given", nameof(columns));
        if (blockRows <= 0 || blockRows % 8 != 0) throw new ArgumentException("the block is a positive multiple of 8 rows", nameof(blockRows));
        if (scratch.Length < layout.ScratchBytes(blockRows)) throw new ArgumentException("scratch is too small", nameof(scratch));
        var full = rows & ~7;
        // Pinned: the span is usually a managed array (TreeModelRunner's column pointers) that a collection during
        // the evaluation could otherwise move under the raw pointer (an access violation in one full test run).
        fixed (IntPtr* pinnedColumns = columns)
        fixed (float* outp = output)
        fixed (byte* bits = scratch)
        {
            var cols = (float**)pinnedColumns;
            layout.Evaluate(cols, full, outp, bits, blockRows);
            Finish(outp, full);
        }
        if (full < rows)
        {
            Span<IntPtr> tail = stackalloc IntPtr[columns.Length];
            for (var f = 0; f < columns.Length; f++) tail[f] = columns[f] + full * sizeof(float);
            Evaluate(tail, rows - full, output[full..]);
        }
    }

    /// <summary>True when <see cref="EvaluateTreeMajor"/> can score this ensemble (bitvector layout, x &lt;= t splits).</summary>
    public bool CanEvaluateTreeMajor => Bitvectors?.SupportsTreeMajor == true;

    /// <summary>The bitvector scores computed tree by tree with the leaf bits in registers
    /// (<see cref="BitvectorEnsemble.EvaluateTreeMajor"/>), the last rows % 8 through the node walk; same results as
    /// <see cref="EvaluateBitvectors"/> bit for bit, no scratch. Needs <see cref="CanEvaluateTreeMajor"/>.</summary>
    public void EvaluateTreeMajor(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output)
    {
        var layout = Bitvectors is { SupportsTreeMajor: true } b ? b : throw new NotSupportedException("the tree-major layout needs the bitvector layout and x <= threshold splits only");
        if (output.Length < rows) throw new ArgumentException("output is shorter than the rows", nameof(output));
        if (columns.Length <= MaxFeature) throw new ArgumentException($"the ensemble reads feature {MaxFeature} but {columns.Length} columns were given", nameof(columns));
        var full = rows & ~7;
        fixed (IntPtr* pinnedColumns = columns)
        fixed (float* outp = output)
        {
            layout.EvaluateTreeMajor((float**)pinnedColumns, full, outp);
            Finish(outp, full);
        }
        if (full < rows)
        {
            Span<IntPtr> tail = stackalloc IntPtr[columns.Length];
            for (var f = 0; f < columns.Length; f++) tail[f] = columns[f] + full * sizeof(float);
            Evaluate(tail, rows - full, output[full..]);
        }
    }

    public int Trees => _roots.Length;

    public int Nodes => _nodes.Length;

    public bool Average { get; }

    public float BaseValue { get; }

    /// <summary>Highest feature index any node reads (-1 for an ensemble of leaves only).</summary>
    public int MaxFeature { get; }

    /// <summary>Scores rows [0, <paramref name="rows"/>) whose feature f is <c>((float*)columns[f])[row]</c>, writing one
    /// float per row to <paramref name="output"/>.</summary>
    public void Evaluate(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output) => Evaluate(columns, rows, output, BlockRows);

    /// <summary><see cref="Evaluate(ReadOnlySpan{IntPtr}, int, Span{float})"/> with another block size (benchmarks:
    /// 1 is row-major, every tree for one row).</summary>
    internal void Evaluate(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output, int blockRows)
    {
        if (output.Length < rows) throw new ArgumentException("output is shorter than the rows", nameof(output));
        if (columns.Length <= MaxFeature) throw new ArgumentException($"the ensemble reads feature {MaxFeature} but {columns.Length} columns were given", nameof(columns));
        // Pinned: the span is usually a managed array (TreeModelRunner's column pointers) that a collection during
        // the evaluation could otherwise move under the raw pointer (an access violation in one full test run).
        fixed (IntPtr* pinnedColumns = columns)
        fixed (TreeNode* nodes = _nodes)
        fixed (float* leaves = _leaves)
        fixed (float* outp = output)
        {
            var cols = (float**)pinnedColumns;
            for (var start = 0; start < rows; start += blockRows)
            {
                var count = Math.Min(blockRows, rows - start);
                var score = outp + start;
                new Span<float>(score, count).Clear();
                if (_allLeq && !_anyMissingTrue) BlockLeq(nodes, leaves, cols, start, count, score);
                else BlockGeneric(nodes, leaves, cols, start, count, score);
                Finish(score, count);
            }
        }
    }

    /// <summary>The second layout the benchmark compares (TreeEvaluatorBenchmarks): struct-of-arrays, one array each
    /// for feature, threshold and the two children, built on first use; same traversal, all splits BRANCH_LEQ without
    /// missing-value tracking only. Slower than the 16-byte node array in TreeEvaluatorBenchmarks (one node's fields
    /// are in four arrays instead of one cache line), so the one-row walk does not use it.</summary>
    internal void EvaluateStructOfArrays(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output)
    {
        if (!_allLeq || _anyMissingTrue) throw new NotSupportedException("the struct-of-arrays layout handles BRANCH_LEQ without missing tracking only");
        // Pinned: the span is usually a managed array (TreeModelRunner's column pointers) that a collection during
        // the evaluation could otherwise move under the raw pointer (an access violation in one full test run).
        fixed (IntPtr* pinnedColumns = columns)
        fixed (int* feature = _soa.Feature)
        fixed (float* threshold = _soa.Threshold)
        fixed (int* left = _soa.True)
        fixed (int* right = _soa.False)
        fixed (float* leaves = _leaves)
        fixed (float* outp = output)
        {
            var cols = (float**)pinnedColumns;
            for (var start = 0; start < rows; start += BlockRows)
            {
                var count = Math.Min(BlockRows, rows - start);
                var score = outp + start;
                new Span<float>(score, count).Clear();
                foreach (var root in _roots)
                {
                    for (var r = 0; r < count; r++)
                    {
                        var row = start + r;
                        var n = root;
                        while (n >= 0) n = cols[feature[n]][row] <= threshold[n] ? left[n] : right[n];
                        score[r] += leaves[~n];
                    }
                }
                Finish(score, count);
            }
        }
    }

    private readonly (int[] Feature, float[] Threshold, int[] True, int[] False) _soa;
    private readonly int[] _missingMask;
    private readonly int[] _children;

    /// <summary>True when <see cref="EvaluateGathered"/> can run: every split is BRANCH_LEQ and the CPU has AVX2.</summary>
    public bool CanGather => _allLeq && Avx2.IsSupported;

    /// <summary>Scores rows of a row-major [rows, <paramref name="features"/>] matrix eight rows at a time: the eight
    /// rows walk one tree in lockstep, each step gathering (AVX2) the eight nodes' feature, threshold and children and
    /// the eight feature values, and selecting the next node without a branch, until all eight reach a leaf. Branch
    /// mispredictions, which dominate the one-row walk (a data-dependent branch per level), disappear; the cost is
    /// that a group walks as deep as its deepest row. Leaf values are added per row in tree order as in
    /// <see cref="Evaluate(ReadOnlySpan{IntPtr}, int, Span{float})"/>, so the results are bit-identical. Measured in
    /// TreeEvaluatorBenchmarks; the scorer uses it when <see cref="CanGather"/>.</summary>
    public void EvaluateGathered(float* matrix, int features, int rows, Span<float> output)
    {
        if (!CanGather) throw new NotSupportedException("the gathered walk needs BRANCH_LEQ splits only and AVX2");
        if (features <= MaxFeature) throw new ArgumentException($"the ensemble reads feature {MaxFeature} but rows have {features}", nameof(features));
        if (output.Length < rows) throw new ArgumentException("output is shorter than the rows", nameof(output));
        var rowOffsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * features;
        var full = rows & ~15;
        fixed (int* feature = _soa.Feature)
        fixed (float* threshold = _soa.Threshold)
        fixed (int* children = _children)
        fixed (int* missing = _missingMask)
        fixed (float* leaves = _leaves)
        fixed (float* outp = output)
        {
            for (var start = 0; start < full; start += BlockRows)
            {
                var end = Math.Min(start + BlockRows, full);
                new Span<float>(outp + start, end - start).Clear();
                foreach (var root in _roots)
                {
                    if (root < 0)
                    {
                        var value = leaves[~root];
                        for (var r = start; r < end; r++) outp[r] += value;
                        continue;
                    }
                    // Two independent groups of eight per iteration: each level is a chain of dependent gathers,
                    // and a second chain in flight hides part of their latency.
                    for (var group = start; group < end; group += 16)
                    {
                        var rowBase = matrix + (long)group * features;
                        var n0 = Vector256.Create(root);
                        var n1 = n0;
                        while (true)
                        {
                            var active0 = Vector256.GreaterThanOrEqual(n0, Vector256<int>.Zero);
                            var active1 = Vector256.GreaterThanOrEqual(n1, Vector256<int>.Zero);
                            if ((active0 | active1) == Vector256<int>.Zero) break;
                            var at0 = Vector256.Max(n0, Vector256<int>.Zero);
                            var at1 = Vector256.Max(n1, Vector256<int>.Zero);
                            var f0 = Avx2.GatherVector256(feature, at0, 4);
                            var f1 = Avx2.GatherVector256(feature, at1, 4);
                            var t0 = Avx2.GatherVector256(threshold, at0, 4);
                            var t1 = Avx2.GatherVector256(threshold, at1, 4);
                            var x0 = Avx2.GatherVector256(rowBase, rowOffsets + f0, 4);
                            var x1 = Avx2.GatherVector256(rowBase + 8 * features, rowOffsets + f1, 4);
                            var goTrue0 = Vector256.LessThanOrEqual(x0, t0).AsInt32();
                            var goTrue1 = Vector256.LessThanOrEqual(x1, t1).AsInt32();
                            if (_anyMissingTrue)
                            {
                                goTrue0 |= ~Vector256.Equals(x0, x0).AsInt32() & Avx2.GatherVector256(missing, at0, 4);
                                goTrue1 |= ~Vector256.Equals(x1, x1).AsInt32() & Avx2.GatherVector256(missing, at1, 4);
                            }
                            // children[2n] is the true child, children[2n + 1] the false one; goTrue is -1 or 0.
                            var next0 = Avx2.GatherVector256(children, at0 + at0 + Vector256<int>.One + goTrue0, 4);
                            var next1 = Avx2.GatherVector256(children, at1 + at1 + Vector256<int>.One + goTrue1, 4);
                            n0 = Vector256.ConditionalSelect(active0, next0, n0);
                            n1 = Vector256.ConditionalSelect(active1, next1, n1);
                        }
                        var score = outp + group;
                        Vector256.Store(Vector256.Load(score) + Avx2.GatherVector256(leaves, ~n0, 4), score);
                        Vector256.Store(Vector256.Load(score + 8) + Avx2.GatherVector256(leaves, ~n1, 4), score + 8);
                    }
                }
                Finish(outp + start, end - start);
            }
        }
        Tail(matrix, features, rows, full, output);
    }

    /// <summary>Rows [<paramref name="full"/>, <paramref name="rows"/>) through the scalar walk.</summary>
    private void Tail(float* matrix, int features, int rows, int full, Span<float> output)
    {
        if (full < rows)
        {
            // The last rows % 8 through the scalar walk over their columns.
            var tail = rows - full;
            Span<IntPtr> columns = stackalloc IntPtr[features];
            var buffer = stackalloc float[features * 16];
            for (var f = 0; f < features; f++)
            {
                for (var r = 0; r < tail; r++) buffer[f * 16 + r] = matrix[(long)(full + r) * features + f];
                columns[f] = (IntPtr)(buffer + f * 16);
            }
            Evaluate(columns, tail, output[full..]);
        }
    }

    private void Finish(float* score, int count)
    {
        if (Average)
        {
            var trees = (float)_roots.Length;
            for (var r = 0; r < count; r++) score[r] = score[r] / trees + BaseValue;
        }
        else if (BaseValue != 0)
        {
            for (var r = 0; r < count; r++) score[r] += BaseValue;
        }
    }

    /// <summary>The common case (LightGBM, FastTree, FastForest from ML.NET): every split is BRANCH_LEQ and NaN goes to
    /// the false child, which <c>x &lt;= t</c> already does.</summary>
    private void BlockLeq(TreeNode* nodes, float* leaves, float** cols, int start, int count, float* score)
    {
        foreach (var root in _roots)
        {
            for (var r = 0; r < count; r++)
            {
                var row = start + r;
                var n = root;
                while (n >= 0)
                {
                    var node = nodes + n;
                    n = cols[node->Feature][row] <= node->Threshold ? node->True : node->False;
                }
                score[r] += leaves[~n];
            }
        }
    }

    private void BlockGeneric(TreeNode* nodes, float* leaves, float** cols, int start, int count, float* score)
    {
        var modes = _modes;
        var missing = _missingTrue;
        foreach (var root in _roots)
        {
            for (var r = 0; r < count; r++)
            {
                var row = start + r;
                var n = root;
                while (n >= 0)
                {
                    var node = nodes + n;
                    var x = cols[node->Feature][row];
                    var t = node->Threshold;
                    var goTrue = modes[n] switch
                    {
                        SplitMode.Leq => x <= t,
                        SplitMode.Lt => x < t,
                        SplitMode.Gte => x >= t,
                        SplitMode.Gt => x > t,
                        SplitMode.Eq => x == t,
                        _ => x != t,
                    } || (missing[n] && float.IsNaN(x));
                    n = goTrue ? node->True : node->False;
                }
                score[r] += leaves[~n];
            }
        }
    }
}
