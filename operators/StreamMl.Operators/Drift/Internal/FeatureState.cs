using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Operators.Drift.Internal;

/// <summary>A monitored feature resolved against the pipeline schema, with everything the hot path needs precomputed.</summary>
internal sealed class FeatureBinding
{
    public FeatureBinding(FeatureProfile profile, int column, ColumnType type)
    {
        Profile = profile;
        Column = column;
        Type = type;
        Kind = profile.Kind;
        Edges = profile.Edges;
        EdgesFloat = [.. profile.Edges.Select(NumericKernel.RoundUp)];
        if (Kind == FeatureKind.Numeric)
        {
            ReferenceLess = new long[Edges.Length];
            long running = 0;
            for (var k = 0; k < Edges.Length; k++)
            {
                running += profile.BinCounts[k];
                ReferenceLess[k] = running;
            }
            ReferenceTotal = running + profile.BinCounts[^1];
            var sum = profile.BinSums.Sum();
            ReferenceTails = new BinnedTails(sum, Edges.Length == 0 ? 0 : profile.BinSums[0], sum - profile.BinSums[^1]);
            BinScratch = new long[Edges.Length + 1];
            BucketCount = Edges.Length;
            IntegerThresholds = IntegerKernel.Thresholds(Edges, out var reachable);
            ReachableEdges = reachable;
        }
        else
        {
            ReferenceLess = [];
            ReferenceTotal = profile.CategoryCounts.Sum();
            BinScratch = [];
            BucketCount = profile.Categories.Length + 1;
            OtherBucket = profile.Categories.Length;
            if (type == ColumnType.String)
            {
                StringCategories = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < profile.Categories.Length; i++) StringCategories[profile.Categories[i]] = i;
            }
            else
            {
                IntCategories = [];
                for (var i = 0; i < profile.Categories.Length; i++)
                {
                    // Categories of integer columns are stored as decimal strings; others can never match a row.
                    if (long.TryParse(profile.Categories[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
                        IntCategories[code] = i;
                }
                DenseCategories = DenseCategoryMap.TryCreate(IntCategories, OtherBucket);
            }
        }
    }

    public FeatureProfile Profile { get; }
    public int Column { get; }
    public ColumnType Type { get; }
    public FeatureKind Kind { get; }
    public double[] Edges { get; }
    public float[] EdgesFloat { get; }
    public long[] ReferenceLess { get; }
    public long ReferenceTotal { get; }
    public BinnedTails ReferenceTails { get; }
    public long[] BinScratch { get; }

    /// <summary>Per edge, the smallest integer at or above it once converted to double (integer columns bin by these).</summary>
    public long[] IntegerThresholds { get; } = [];

    /// <summary>Edges some long reaches; the later ones lie beyond 2^63.</summary>
    public int ReachableEdges { get; }

    /// <summary>Integer categories as an array indexed by code minus the smallest code, when the codes are close together.</summary>
    public DenseCategoryMap? DenseCategories { get; }

    /// <summary>Length of an accumulator's count array: edges (numeric) or categories plus "other".</summary>
    public int BucketCount { get; }
    public int OtherBucket { get; }
    public Dictionary<string, int>? StringCategories { get; }
    public Dictionary<long, int>? IntCategories { get; }

    /// <summary>Batch string code to category index, rebuilt once per batch because dictionaries are per batch.</summary>
    public int[] CodeMap { get; set; } = new int[64];
    public long MappedBatch { get; set; } = -1;
}

/// <summary>What one scope (a pane, a window, the lifetime) has seen of one feature.</summary>
internal sealed class FeatureAccumulator(int buckets)
{
    public RunningMoments Moments;
    public BinnedTails Tails;
    public long Missing;
    public long Present;

    /// <summary>Numeric: values below each edge. Categorical: rows per category, the last for "other".</summary>
    public long[] Counts { get; } = new long[buckets];

    public void Clear()
    {
        Moments.Clear();
        Tails = default;
        Missing = 0;
        Present = 0;
        Array.Clear(Counts);
    }

    public void MergeFrom(FeatureAccumulator other)
    {
        Moments.Merge(other.Moments);
        Tails.SumBelowFirst += other.Tails.SumBelowFirst;
        Tails.SumBelowLast += other.Tails.SumBelowLast;
        Missing += other.Missing;
        Present += other.Present;
        for (var i = 0; i < Counts.Length; i++) Counts[i] += other.Counts[i];
    }
}

/// <summary>The accumulators of every feature for one scope.</summary>
internal sealed class ScopeState
{
    public ScopeState(FeatureBinding[] features)
    {
        Features = new FeatureAccumulator[features.Length];
        for (var i = 0; i < features.Length; i++) Features[i] = new FeatureAccumulator(features[i].BucketCount);
        Scores = new FeatureScores[features.Length];
    }

    public FeatureAccumulator[] Features { get; }
    public FeatureScores[] Scores { get; }
    public long Rows;
    public long Start;
    public long End;
    public DriftStatus Status;

    public void Clear()
    {
        foreach (var f in Features) f.Clear();
        Rows = 0;
        Status = DriftStatus.Unknown;
    }

    public void MergeFrom(ScopeState other)
    {
        for (var i = 0; i < Features.Length; i++) Features[i].MergeFrom(other.Features[i]);
        Rows += other.Rows;
    }
}

/// <summary>Drift scores of one feature in one scope; NaN where a score does not apply.</summary>
internal struct FeatureScores
{
    public double Psi;
    public double JensenShannon;
    public double Ks;
    public double Wasserstein;
    public double WassersteinRelative;
    public double ChiSquare;
    public double ChiSquarePValue;
    public double UnseenRate;
    public double MissingRate;
    public DriftStatus Status;
}
