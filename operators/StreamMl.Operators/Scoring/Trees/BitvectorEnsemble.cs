using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>The QuickScorer layout (Lucchese et al., SIGIR 2015; vectorised over rows as in V-QuickScorer and
/// RapidScorer) for ensembles whose trees have at most 32 leaves. Each tree keeps one 32-bit vector per row, one bit per
/// leaf in left-to-right order (the true child is the left one), all set at the start. Every branch node becomes a
/// condition (threshold, tree, mask of the leaves under its true child), grouped by feature and split mode; a node whose
/// test fails for a row clears its true-side leaves in that row's vector. After every condition has been applied, the
/// lowest set bit of a row's vector is the leaf the row reaches (the leaves left of it are cleared by the node where
/// their path and the row's part, which the row left by its false side; the row's own leaf is never under the true side
/// of a node it failed). So scoring is a straight pass over the conditions with no data-dependent branch and no walk:
/// per condition, eight rows' feature values are loaded from the batch column in place, compared with the threshold
/// and the tree's eight vectors masked, for every group of eight rows of a block.
/// <para>Leaf values are then added per row in tree order from 0, as the node walk does, so the scores are
/// bit-identical to it (TreeLayoutTests). Measured against the walk and ONNX Runtime in TreeEvaluatorBenchmarks.</para></summary>
internal sealed unsafe class BitvectorEnsemble
{
    /// <summary>Rows per block: 128 rows × 100 trees × 4 bytes of leaf bits is 50 KB, which stays in L2 while the
    /// conditions stream past. TreeEvaluatorBenchmarks.EnsembleBitvectors on the 100-tree model (one run, loaded
    /// machine): 32 rows 6.7 ms, 64 rows 4.2 ms, 128 rows 3.2 ms, 256 rows 3.3 ms per 4,096 rows.</summary>
    public const int DefaultBlockRows = 128;

    private readonly Condition[] _conditions;
    private readonly Segment[] _segments;
    private readonly int[] _leafBase;
    private readonly float[] _leaves;

    private BitvectorEnsemble(Condition[] conditions, Segment[] segments, int[] leafBase, float[] leaves)
    {
        _conditions = conditions;
        _segments = segments;
        _leafBase = leafBase;
        _leaves = leaves;
    }

    /// <summary>Trees of the ensemble.</summary>
    public int Trees => _leafBase.Length;

    /// <summary>True when the CPU runs this layout (AVX2 for the leaf gather and 256-bit compares).</summary>
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Bytes of scratch <see cref="Evaluate"/> needs for blocks of <paramref name="blockRows"/> rows.</summary>
    public int ScratchBytes(int blockRows) => Trees * (blockRows / 8) * 32;

    /// <summary>Builds the layout, or returns null when a tree has more than 32 leaves or the CPU lacks AVX2.</summary>
    public static BitvectorEnsemble? TryBuild(TreeNode[] nodes, SplitMode[] modes, bool[] missingTrue, float[] leaves, int[] roots)
    {
        if (!IsSupported) return null;
        var leafBase = new int[roots.Length];
        var conditions = new List<(int Feature, SplitMode Mode, bool Missing, Condition Condition)>(nodes.Length);
        for (var tree = 0; tree < roots.Length; tree++)
        {
            // The compiler emits each tree depth-first, true child first, so a tree's leaves are contiguous and in
            // left-to-right order; a node's true side is a contiguous run of them.
            var (first, last) = Span(roots[tree]);
            if (last - first >= 32) return null;
            leafBase[tree] = first;
            if (!Collect(roots[tree], tree, first)) return null;
        }
        var ordered = conditions.OrderBy(c => c.Feature).ThenBy(c => c.Mode).ThenBy(c => c.Missing).ThenBy(c => c.Condition.Tree).ToArray();
        var segments = new List<Segment>();
        for (var i = 0; i < ordered.Length;)
        {
            var end = i;
            while (end < ordered.Length && ordered[end].Feature == ordered[i].Feature && ordered[end].Mode == ordered[i].Mode && ordered[end].Missing == ordered[i].Missing) end++;
            segments.Add(new Segment(ordered[i].Feature, ordered[i].Mode, ordered[i].Missing, i, end));
            i = end;
        }
        return new BitvectorEnsemble(ordered.Select(c => c.Condition).ToArray(), [.. segments], leafBase, leaves);

        (int First, int Last) Span(int n)
        {
            if (n < 0) return (~n, ~n);
            var (trueFirst, _) = Span(nodes[n].True);
            var (_, falseLast) = Span(nodes[n].False);
            return (trueFirst, falseLast);
        }

        bool Collect(int n, int tree, int first)
        {
            if (n < 0) return true;
            var (trueFirst, trueLast) = Span(nodes[n].True);
            var (falseFirst, _) = Span(nodes[n].False);
            if (falseFirst != trueLast + 1) return false;
            var width = trueLast - trueFirst + 1;
            var mask = (width == 32 ? uint.MaxValue : (1u << width) - 1) << (trueFirst - first);
            conditions.Add((nodes[n].Feature, modes[n], missingTrue[n], new Condition { Threshold = nodes[n].Threshold, Tree = tree, TrueLeaves = mask }));
            return Collect(nodes[n].True, tree, first) && Collect(nodes[n].False, tree, first);
        }
    }

    /// <summary>Sums the leaf values of rows [0, <paramref name="rows"/>) into <paramref name="output"/> (no average,
    /// no base value); <paramref name="rows"/> must be a multiple of 8. Feature f of row r is
    /// <c>((float*)columns[f])[r]</c>; <paramref name="scratch"/> holds <see cref="ScratchBytes"/>(blockRows).</summary>
    public void Evaluate(float** columns, int rows, float* output, byte* scratch, int blockRows)
    {
        var bits = (Vector256<uint>*)scratch;
        fixed (Condition* conditions = _conditions)
        fixed (int* leafBase = _leafBase)
        fixed (float* leaves = _leaves)
        {
            for (var start = 0; start < rows; start += blockRows)
            {
                var groups = Math.Min(blockRows, rows - start) / 8;
                var vectors = Trees * groups;
                for (var i = 0; i < vectors; i++) bits[i] = Vector256<uint>.AllBitsSet;
                foreach (var segment in _segments)
                {
                    var column = columns[segment.Feature] + start;
                    var first = conditions + segment.Start;
                    var count = segment.End - segment.Start;
                    if (segment.MissingTrue) ApplyMode<MissingGoesTrue>(segment.Mode, column, first, count, bits, groups);
                    else ApplyMode<MissingFails>(segment.Mode, column, first, count, bits, groups);
                }
                for (var g = 0; g < groups; g++)
                {
                    var sum = Vector256<float>.Zero;
                    for (var tree = 0; tree < Trees; tree++)
                    {
                        var v = bits[tree * groups + g];
                        // The lowest set bit as a float 2^i: its exponent field is 127 + i.
                        var lowest = (v & (Vector256<uint>.Zero - v)).AsInt32();
                        var index = ((Avx.ConvertToVector256Single(lowest).AsInt32() >>> 23) & Vector256.Create(0xFF)) - Vector256.Create(127);
                        sum += Avx2.GatherVector256(leaves + leafBase[tree], index, 4);
                    }
                    Vector256.Store(sum, output + start + g * 8);
                }
            }
        }
    }

    private static void ApplyMode<TMissing>(SplitMode mode, float* column, Condition* conditions, int count, Vector256<uint>* bits, int groups)
        where TMissing : struct, IMissing
    {
        switch (mode)
        {
            case SplitMode.Leq: Apply<Leq, TMissing>(column, conditions, count, bits, groups); break;
            case SplitMode.Lt: Apply<Lt, TMissing>(column, conditions, count, bits, groups); break;
            case SplitMode.Gte: Apply<Gte, TMissing>(column, conditions, count, bits, groups); break;
            case SplitMode.Gt: Apply<Gt, TMissing>(column, conditions, count, bits, groups); break;
            case SplitMode.Eq: Apply<Eq, TMissing>(column, conditions, count, bits, groups); break;
            default: Apply<Neq, TMissing>(column, conditions, count, bits, groups); break;
        }
    }

    private static void Apply<TSplit, TMissing>(float* column, Condition* conditions, int count, Vector256<uint>* bits, int groups)
        where TSplit : struct, ISplit
        where TMissing : struct, IMissing
    {
        for (var i = 0; i < count; i++)
        {
            var threshold = Vector256.Create(conditions[i].Threshold);
            var trueLeaves = Vector256.Create(conditions[i].TrueLeaves);
            var tree = bits + conditions[i].Tree * groups;
            for (var g = 0; g < groups; g++)
            {
                var x = Vector256.Load(column + g * 8);
                var goesTrue = TSplit.GoesTrue(x, threshold).AsUInt32();
                if (TMissing.GoesTrue) goesTrue |= ~Vector256.Equals(x, x).AsUInt32();
                tree[g] = Vector256.AndNot(tree[g], Vector256.AndNot(trueLeaves, goesTrue));
            }
        }
    }

    /// <summary>One branch node: its threshold, its tree, and the bits of the leaves under its true child.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Condition
    {
        public float Threshold;
        public int Tree;
        public uint TrueLeaves;
    }

    /// <summary>Conditions [Start, End) test feature <c>Feature</c> with one split mode and missing-value direction.</summary>
    private readonly record struct Segment(int Feature, SplitMode Mode, bool MissingTrue, int Start, int End);

    private interface ISplit
    {
        static abstract Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> threshold);
    }

    // Ordered comparisons are false for NaN, so NaN fails every test but NEQ (NaN != t), as in ONNX Runtime.
    private readonly struct Leq : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => Vector256.LessThanOrEqual(x, t); }

    private readonly struct Lt : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => Vector256.LessThan(x, t); }

    private readonly struct Gte : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => Vector256.GreaterThanOrEqual(x, t); }

    private readonly struct Gt : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => Vector256.GreaterThan(x, t); }

    private readonly struct Eq : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => Vector256.Equals(x, t); }

    private readonly struct Neq : ISplit { public static Vector256<float> GoesTrue(Vector256<float> x, Vector256<float> t) => ~Vector256.Equals(x, t); }

    private interface IMissing
    {
        static abstract bool GoesTrue { get; }
    }

    private readonly struct MissingGoesTrue : IMissing { public static bool GoesTrue => true; }

    private readonly struct MissingFails : IMissing { public static bool GoesTrue => false; }
}
