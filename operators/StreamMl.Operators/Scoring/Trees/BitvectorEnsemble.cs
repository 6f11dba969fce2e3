using System.Runtime.CompilerServices;
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
    // The same conditions tree by tree (TreeMajor): tree t's are [_treeStart[t], _treeStart[t + 1]).
    private readonly TreeCondition[] _treeConditions;
    private readonly int[] _treeStart;
    // Tree t's leaf values at [32 t, 32 t + leaves), zeros after: two 512-bit registers that a permute indexes by leaf.
    private readonly float[] _leafTable;
    private readonly bool _anyMissingTrue;

    private BitvectorEnsemble(Condition[] conditions, Segment[] segments, int[] leafBase, float[] leaves, float[] leafTable, TreeCondition[] treeConditions, int[] treeStart, bool allLeq, bool anyMissingTrue)
    {
        _leafTable = leafTable;
        _conditions = conditions;
        _segments = segments;
        _leafBase = leafBase;
        _leaves = leaves;
        _treeConditions = treeConditions;
        _treeStart = treeStart;
        SupportsTreeMajor = allLeq;
        _anyMissingTrue = anyMissingTrue;
    }

    /// <summary>True when <see cref="EvaluateTreeMajor"/> handles the ensemble: every split is x &lt;= threshold (the
    /// splits ML.NET's LightGBM, FastTree and FastForest exports use), with either missing-value direction.</summary>
    public bool SupportsTreeMajor { get; }

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
        var leafTable = new float[roots.Length * 32];
        var conditions = new List<(int Feature, SplitMode Mode, bool Missing, Condition Condition)>(nodes.Length);
        for (var tree = 0; tree < roots.Length; tree++)
        {
            // The compiler emits each tree depth-first, true child first, so a tree's leaves are contiguous and in
            // left-to-right order; a node's true side is a contiguous run of them.
            var (first, last) = Span(roots[tree]);
            if (last - first >= 32) return null;
            leafBase[tree] = first;
            Array.Copy(leaves, first, leafTable, tree * 32, last - first + 1);
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
        var treeStart = new int[roots.Length + 1];
        foreach (var c in conditions) treeStart[c.Condition.Tree + 1]++;
        for (var t = 0; t < roots.Length; t++) treeStart[t + 1] += treeStart[t];
        // Collected tree by tree, so this keeps each tree's conditions together in depth-first order.
        var treeConditions = conditions.Select(c => new TreeCondition
        {
            Feature = c.Feature,
            Threshold = c.Condition.Threshold,
            TrueLeaves = c.Condition.TrueLeaves,
            MissingTrue = c.Missing ? uint.MaxValue : 0,
        }).ToArray();
        return new BitvectorEnsemble(ordered.Select(c => c.Condition).ToArray(), [.. segments], leafBase, leaves, leafTable, treeConditions, treeStart,
            allLeq: conditions.All(c => c.Mode == SplitMode.Leq), anyMissingTrue: conditions.Any(c => c.Missing));

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

    /// <summary>The same scores as <see cref="Evaluate"/>, bit for bit, computed tree by tree with the leaf bits in
    /// registers instead of a scratch array: for 32 rows at a time (four vectors of eight), each tree's conditions are
    /// applied to the rows' bits in four registers, the leaves gathered and added, and the next tree starts from all ones;
    /// nothing is stored but the scores. Per condition and eight rows that is a load of the feature values (from a block
    /// of columns that stays in L1), a compare and two logic operations, where the feature-major pass also loads and
    /// stores the tree's bits. Needs <see cref="SupportsTreeMajor"/>; <paramref name="rows"/> must be a multiple of 8.</summary>
    public void EvaluateTreeMajor(float** columns, int rows, float* output)
    {
        if (_anyMissingTrue) EvaluateTreeMajor<MissingGoesTrue>(columns, rows, output);
        else EvaluateTreeMajor<MissingFails>(columns, rows, output);
    }

    private void EvaluateTreeMajor<TMissing>(float** columns, int rows, float* output)
        where TMissing : struct, IMissing
    {
        fixed (TreeCondition* conditions = _treeConditions)
        fixed (int* treeStart = _treeStart)
        fixed (int* leafBase = _leafBase)
        fixed (float* leaves = _leaves)
        fixed (float* leafTable = _leafTable)
        {
            var trees = Trees;
            var start = 0;
            var permute = CanPermuteLeaves;
            for (; start + 64 <= rows; start += 64)
            {
                // Eight vectors of eight rows; the scores of rows 16 k .. 16 k + 15 in one 512-bit sum (or two 256-bit ones).
                Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (var tree = 0; tree < trees; tree++)
                {
                    Vector256<uint> v0 = Vector256<uint>.AllBitsSet, v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
                    var end = conditions + treeStart[tree + 1];
                    for (var c = conditions + treeStart[tree]; c < end; c++)
                    {
                        var x = columns[c->Feature] + start;
                        var threshold = Vector256.Create(c->Threshold);
                        var trueLeaves = Vector256.Create(c->TrueLeaves);
                        v0 = Fail<TMissing>(v0, Vector256.Load(x), threshold, trueLeaves, c->MissingTrue);
                        v1 = Fail<TMissing>(v1, Vector256.Load(x + 8), threshold, trueLeaves, c->MissingTrue);
                        v2 = Fail<TMissing>(v2, Vector256.Load(x + 16), threshold, trueLeaves, c->MissingTrue);
                        v3 = Fail<TMissing>(v3, Vector256.Load(x + 24), threshold, trueLeaves, c->MissingTrue);
                        v4 = Fail<TMissing>(v4, Vector256.Load(x + 32), threshold, trueLeaves, c->MissingTrue);
                        v5 = Fail<TMissing>(v5, Vector256.Load(x + 40), threshold, trueLeaves, c->MissingTrue);
                        v6 = Fail<TMissing>(v6, Vector256.Load(x + 48), threshold, trueLeaves, c->MissingTrue);
                        v7 = Fail<TMissing>(v7, Vector256.Load(x + 56), threshold, trueLeaves, c->MissingTrue);
                    }
                    if (permute)
                    {
                        var low = Vector512.Load(leafTable + tree * 32);
                        var high = Vector512.Load(leafTable + tree * 32 + 16);
                        s0 += PermuteLeaf(low, high, Vector512.Create(v0, v1));
                        s1 += PermuteLeaf(low, high, Vector512.Create(v2, v3));
                        s2 += PermuteLeaf(low, high, Vector512.Create(v4, v5));
                        s3 += PermuteLeaf(low, high, Vector512.Create(v6, v7));
                    }
                    else
                    {
                        var treeLeaves = leaves + leafBase[tree];
                        s0 += Vector512.Create(Leaf(treeLeaves, v0), Leaf(treeLeaves, v1));
                        s1 += Vector512.Create(Leaf(treeLeaves, v2), Leaf(treeLeaves, v3));
                        s2 += Vector512.Create(Leaf(treeLeaves, v4), Leaf(treeLeaves, v5));
                        s3 += Vector512.Create(Leaf(treeLeaves, v6), Leaf(treeLeaves, v7));
                    }
                }
                Vector512.Store(s0, output + start);
                Vector512.Store(s1, output + start + 16);
                Vector512.Store(s2, output + start + 32);
                Vector512.Store(s3, output + start + 48);
            }
            for (; start < rows; start += 8)
            {
                var sum = Vector256<float>.Zero;
                for (var tree = 0; tree < trees; tree++)
                {
                    var v = Vector256<uint>.AllBitsSet;
                    var end = conditions + treeStart[tree + 1];
                    for (var c = conditions + treeStart[tree]; c < end; c++)
                        v = Fail<TMissing>(v, Vector256.Load(columns[c->Feature] + start), Vector256.Create(c->Threshold), Vector256.Create(c->TrueLeaves), c->MissingTrue);
                    sum += Leaf(leaves + leafBase[tree], v);
                }
                Vector256.Store(sum, output + start);
            }
        }
    }

    /// <summary>True when the leaf values can be looked up with a 32-entry permute (AVX-512F with the CD extension's
    /// leading-zero count) instead of a gather.</summary>
    private static bool CanPermuteLeaves => Avx512F.IsSupported && Avx512CD.IsSupported && UsePermute;

    /// <summary>False makes the tree-major pass gather its leaves as on a CPU without AVX-512 (tests and the tree-cpu
    /// probe compare both).</summary>
    internal static bool UsePermute { get; set; } = true;

    /// <summary>The leaf value of each of sixteen rows from the tree's 32-entry table: the lowest set bit of the row's
    /// vector is leaf 31 - lzcnt(v &amp; -v), and the permute reads only the low five bits of its index, where ~lzcnt
    /// equals 31 - lzcnt.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PermuteLeaf(Vector512<float> low, Vector512<float> high, Vector512<uint> v)
    {
        var lowest = v & (Vector512<uint>.Zero - v);
        var index = ~Avx512CD.LeadingZeroCount(lowest);
        return Avx512F.PermuteVar16x32x2(low, index.AsInt32(), high);
    }

    /// <summary>Clears the true-side leaves of the rows whose value fails the condition x &lt;= threshold (a NaN fails
    /// unless the condition sends missing values to its true side).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Fail<TMissing>(Vector256<uint> bits, Vector256<float> x, Vector256<float> threshold, Vector256<uint> trueLeaves, uint missingTrue)
        where TMissing : struct, IMissing
    {
        var goesTrue = Vector256.LessThanOrEqual(x, threshold).AsUInt32();
        if (TMissing.GoesTrue) goesTrue |= ~Vector256.Equals(x, x).AsUInt32() & Vector256.Create(missingTrue);
        // bits & ~(trueLeaves & ~goesTrue) in one instruction where AVX-512 has it (truth table 0xB0 over A, B, C).
        if (Avx512F.VL.IsSupported) return Avx512F.VL.TernaryLogic(bits, trueLeaves, goesTrue, 0xB0);
        return Vector256.AndNot(bits, Vector256.AndNot(trueLeaves, goesTrue));
    }

    /// <summary>The leaf value of each row: the lowest set bit of its vector, as a float 2^i whose exponent field is 127 + i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Leaf(float* treeLeaves, Vector256<uint> v)
    {
        var lowest = (v & (Vector256<uint>.Zero - v)).AsInt32();
        var index = ((Avx.ConvertToVector256Single(lowest).AsInt32() >>> 23) & Vector256.Create(0xFF)) - Vector256.Create(127);
        return Avx2.GatherVector256(treeLeaves, index, 4);
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

    /// <summary>A condition in the tree-major layout: its feature, threshold, true-side leaves, and all ones when a
    /// missing value goes to its true side.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TreeCondition
    {
        public int Feature;
        public float Threshold;
        public uint TrueLeaves;
        public uint MissingTrue;
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
