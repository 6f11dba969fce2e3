namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>Half-Space Trees for many keys (see <see cref="HalfSpaceTreesOptions"/>). The tree structure (split feature
/// and split point of every node, in the unit cube) comes from the seed and is shared by all keys; each key keeps its
/// own feature ranges and its reference and latest mass per node. Trees are complete binary trees in heap order
/// (children of node i are 2i+1 and 2i+2).</summary>
internal sealed class HalfSpaceTreesBank : DetectorBank
{
    private readonly HalfSpaceTreesOptions _options;
    private readonly int _nodesPerTree;
    private readonly int _massPerKey;
    private readonly int[] _splitFeature;
    private readonly double[] _splitPoint;
    private readonly double _sizeLimit;
    private readonly double _maxScore;
    private int[] _reference = [];
    private int[] _latest = [];
    private double[] _min = [];
    private double[] _max = [];
    private long[] _count = [];
    private int _capacity;

    public HalfSpaceTreesBank(HalfSpaceTreesOptions options)
    {
        _options = options;
        _nodesPerTree = (1 << (options.Height + 1)) - 1;
        _massPerKey = options.Trees * _nodesPerTree;
        _splitFeature = new int[_massPerKey];
        _splitPoint = new double[_massPerKey];
        _sizeLimit = 0.1 * options.Window; // River's size limit: a node with less reference mass is too sparse to go deeper
        _maxScore = (double)options.Trees * options.Window * ((2L << options.Height) - 1);
        var random = new Random(options.Seed);
        var dimensions = options.Dimensions;
        Span<double> low = stackalloc double[dimensions];
        Span<double> high = stackalloc double[dimensions];
        for (var tree = 0; tree < options.Trees; tree++)
        {
            // A random work space around the unit cube, as in the paper: each feature's range is s ± 2·max(s, 1 − s).
            for (var d = 0; d < dimensions; d++)
            {
                var s = random.NextDouble();
                var half = 2 * Math.Max(s, 1 - s);
                low[d] = s - half;
                high[d] = s + half;
            }
            Build(tree * _nodesPerTree, 0, 0, low, high, random);
        }
    }

    public override int Capacity => _capacity;

    public override double Threshold => _options.Threshold;

    public override int Dimensions => _options.Dimensions;

    public override void EnsureCapacity(int slots)
    {
        if (slots <= _capacity) return;
        var grown = Grown(_capacity, slots);
        _reference = Resize(_reference, grown * _massPerKey);
        _latest = Resize(_latest, grown * _massPerKey);
        _min = Resize(_min, grown * _options.Dimensions);
        _max = Resize(_max, grown * _options.Dimensions);
        _count = Resize(_count, grown);
        _capacity = grown;
    }

    public override void Reset(int slot)
    {
        _reference.AsSpan(slot * _massPerKey, _massPerKey).Clear();
        _latest.AsSpan(slot * _massPerKey, _massPerKey).Clear();
        _count[slot] = 0;
    }

    public override void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores)
    {
        for (var i = 0; i < slots.Length; i++) scores[i] = Update(slots[i], values[i], eventTimes[i]);
    }

    public override AnomalyScore Update(int slot, double value, long eventTime) =>
        Update(slot, new ReadOnlySpan<double>(in value), eventTime);

    public override AnomalyScore Update(int slot, ReadOnlySpan<double> values, long eventTime)
    {
        var dimensions = _options.Dimensions;
        if (values.Length != dimensions)
            throw new AnomalyDetectorException($"anomaly detector 'half-space-trees' takes {dimensions} values per row, not {values.Length}");
        foreach (var v in values)
            if (!double.IsFinite(v)) return AnomalyScore.WarmingUp(_options.Threshold) with { Statistic = double.NaN };
        var window = _options.Window;
        var count = _count[slot]++;
        var min = _min.AsSpan(slot * dimensions, dimensions);
        var max = _max.AsSpan(slot * dimensions, dimensions);
        if (count < window)
        {
            LearnRange(count, values, min, max);
            return AnomalyScore.WarmingUp(_options.Threshold);
        }

        Span<double> unit = stackalloc double[dimensions];
        for (var d = 0; d < dimensions; d++)
        {
            var width = max[d] - min[d];
            unit[d] = width > 0 ? (values[d] - min[d]) / width : 0.5;
        }
        var reference = _reference.AsSpan(slot * _massPerKey, _massPerKey);
        var latest = _latest.AsSpan(slot * _massPerKey, _massPerKey);
        var scoring = count >= 2L * window;
        double mass = 0;
        for (var tree = 0; tree < _options.Trees; tree++)
        {
            var root = tree * _nodesPerTree;
            var node = 0;
            var scored = !scoring;
            for (var depth = 0; ; depth++)
            {
                var at = root + node;
                latest[at]++;
                if (!scored)
                {
                    // River sums mass·2^depth along the path down to the first node too sparse to trust.
                    mass += reference[at] * (double)(1L << depth);
                    scored = reference[at] < _sizeLimit;
                }
                if (depth == _options.Height) break;
                node = unit[_splitFeature[at]] < _splitPoint[at] ? 2 * node + 1 : 2 * node + 2;
            }
        }
        if ((count + 1) % window == 0)
        {
            // End of a window: the latest mass becomes the reference for the next one.
            latest.CopyTo(reference);
            latest.Clear();
        }
        if (!scoring) return AnomalyScore.WarmingUp(_options.Threshold);
        return AnomalyScore.Grade(1 - mass / _maxScore, _options.Threshold, _options.WarningFraction);
    }

    private static void LearnRange(long count, ReadOnlySpan<double> values, Span<double> min, Span<double> max)
    {
        for (var d = 0; d < values.Length; d++)
        {
            if (count == 0 || values[d] < min[d]) min[d] = values[d];
            if (count == 0 || values[d] > max[d]) max[d] = values[d];
        }
    }

    private void Build(int root, int node, int depth, Span<double> low, Span<double> high, Random random)
    {
        if (depth == _options.Height) return;
        var feature = random.Next(_options.Dimensions);
        var split = (low[feature] + high[feature]) / 2;
        _splitFeature[root + node] = feature;
        _splitPoint[root + node] = split;
        var savedHigh = high[feature];
        high[feature] = split;
        Build(root, 2 * node + 1, depth + 1, low, high, random);
        high[feature] = savedHigh;
        var savedLow = low[feature];
        low[feature] = split;
        Build(root, 2 * node + 2, depth + 1, low, high, random);
        low[feature] = savedLow;
    }
}
