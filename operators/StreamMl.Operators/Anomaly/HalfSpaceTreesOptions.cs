using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>Settings of Half-Space Trees (<c>detector: half-space-trees</c>; Tan, Ting and Liu, "Fast anomaly detection
/// for streaming data", IJCAI 2011; as in River's <c>anomaly.HalfSpaceTrees</c>): random trees that halve a random
/// feature's range at each level; a value is anomalous when it falls where the previous window put little mass. The
/// first window learns each feature's range (per key), the second fills the reference mass; scoring starts after.
/// The score is 1 − Σ mass·2^depth / (trees · window · (2^(height+1) − 1)), summed along each tree's path down to the first node with less than a tenth of a window of reference mass; in [0, 1], higher is more anomalous.</summary>
public sealed record HalfSpaceTreesOptions
{
    /// <summary><c>trees</c>: number of trees. Default 10.</summary>
    public int Trees { get; init; } = 10;

    /// <summary><c>height</c>: depth of every tree. Default 8.</summary>
    public int Height { get; init; } = 8;

    /// <summary><c>window</c>: events per mass window. Default 250.</summary>
    public int Window { get; init; } = 250;

    /// <summary><c>threshold</c>: the score from which an event is a detection. Scores of ordinary events sit close to
    /// 1 (about 0.95 in the tests), so the threshold is close to 1 as well. Default 0.995.</summary>
    public double Threshold { get; init; } = 0.995;

    /// <summary><c>warning</c>: the fraction of the threshold from which events are warnings. Default 0.99.</summary>
    public double WarningFraction { get; init; } = 0.99;

    /// <summary><c>seed</c>: seed of the random tree structure; the same seed gives the same trees. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary><c>dimensions</c>: values per event. Default 1.</summary>
    public int Dimensions { get; init; } = 1;

    internal static HalfSpaceTreesOptions Read(ParameterReader read)
    {
        var defaults = new HalfSpaceTreesOptions();
        return new HalfSpaceTreesOptions
        {
            Trees = read.Int("trees", defaults.Trees, 1, 1_000),
            Height = read.Int("height", defaults.Height, 1, 20),
            Window = read.Int("window", defaults.Window, 2, 10_000_000),
            Threshold = read.Double("threshold", defaults.Threshold, 0, 1, minExclusive: true),
            WarningFraction = read.Double("warning", defaults.WarningFraction, 0, 1),
            Seed = read.Int("seed", defaults.Seed, int.MinValue, int.MaxValue),
            Dimensions = read.Int("dimensions", defaults.Dimensions, 1, 1_000),
        };
    }
}
