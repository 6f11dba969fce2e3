using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
    }

    public int Trees => _roots.Length;

    public int Nodes => _nodes.Length;

    public bool Average { get; }

    public float BaseValue { get; }

    /// <summary>Highest feature index any node reads (-1 for an ensemble of leaves only).</summary>
    public int MaxFeature { get; }

    /// <summary>Scores rows [0, <paramref name="rows"/>) whose feature f is <c>((float*)columns[f])[row]</c>, writing one
    /// float per row to <paramref name="output"/>.</summary>
    public void Evaluate(ReadOnlySpan<IntPtr> columns, int rows, Span<float> output)
    {
        if (output.Length < rows) throw new ArgumentException("output is shorter than the rows", nameof(output));
        if (columns.Length <= MaxFeature) throw new ArgumentException($"the ensemble reads feature {MaxFeature} but {columns.Length} columns were given", nameof(columns));
        var cols = (float**)Unsafe.AsPointer(ref MemoryMarshal.GetReference(columns));
        fixed (TreeNode* nodes = _nodes)
        fixed (float* leaves = _leaves)
        fixed (float* outp = output)
        {
            for (var start = 0; start < rows; start += BlockRows)
            {
                var count = Math.Min(BlockRows, rows - start);
                var score = outp + start;
                new Span<float>(score, count).Clear();
                if (_allLeq && !_anyMissingTrue) BlockLeq(nodes, leaves, cols, start, count, score);
                else BlockGeneric(nodes, leaves, cols, start, count, score);
                Finish(score, count);
            }
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
