using StreamMl.Operators.Anomaly;

namespace StreamMl.Testing.Anomaly;

/// <summary>The plain reference the Half-Space Trees detector is compared with, in the operators' and the host's tests:
/// Half-Space Trees (Tan, Ting &amp; Liu 2011) with node objects: trees drawn from <c>Random(seed)</c> (per tree,
/// a random point s per dimension and the work range s ± 2·max(s, 1 − s), then a random feature per node, split at
/// the middle of its range); values scaled to [0, 1] by the first window's min and max; the score adds
/// mass·2^depth of the previous window along each path, down to the first node with under 10% of a window, and is
/// 1 − sum / (trees · window · (2^(height+1) − 1)) from the third window on.</summary>
internal sealed class PlainHalfSpaceTrees
{
    private sealed class Node
    {
        public int Feature;
        public double Split;
        public Node? Left, Right;
        public int Reference, Latest;
    }

    private readonly HalfSpaceTreesOptions _o;
    private readonly List<Node> _roots = [];
    private readonly List<double[]> _first = [];
    private double[] _min = [], _max = [];
    private long _count;

    public PlainHalfSpaceTrees(HalfSpaceTreesOptions o)
    {
        _o = o;
        var random = new Random(o.Seed);
        for (var t = 0; t < o.Trees; t++)
        {
            var low = new double[o.Dimensions];
            var high = new double[o.Dimensions];
            for (var d = 0; d < o.Dimensions; d++)
            {
                var s = random.NextDouble();
                low[d] = s - 2 * Math.Max(s, 1 - s);
                high[d] = s + 2 * Math.Max(s, 1 - s);
            }
            _roots.Add(Build(0, low, high, random));
        }
    }

    private Node Build(int depth, double[] low, double[] high, Random random)
    {
        var node = new Node();
        if (depth == _o.Height) return node;
        node.Feature = random.Next(_o.Dimensions);
        node.Split = (low[node.Feature] + high[node.Feature]) / 2;
        var leftHigh = (double[])high.Clone();
        leftHigh[node.Feature] = node.Split;
        node.Left = Build(depth + 1, low, leftHigh, random);
        var rightLow = (double[])low.Clone();
        rightLow[node.Feature] = node.Split;
        node.Right = Build(depth + 1, rightLow, high, random);
        return node;
    }

    public double Update(double[] x)
    {
        var count = _count++;
        if (count < _o.Window)
        {
            _first.Add(x);
            _min = Enumerable.Range(0, x.Length).Select(d => _first.Min(v => v[d])).ToArray();
            _max = Enumerable.Range(0, x.Length).Select(d => _first.Max(v => v[d])).ToArray();
            return double.NaN;
        }
        var unit = x.Select((v, d) => _max[d] > _min[d] ? (v - _min[d]) / (_max[d] - _min[d]) : 0.5).ToArray();
        var score = 0.0;
        foreach (var root in _roots)
        {
            var node = root;
            var scored = false;
            for (var depth = 0; node is not null; depth++)
            {
                node.Latest++;
                if (!scored)
                {
                    score += node.Reference * Math.Pow(2, depth);
                    scored = node.Reference < 0.1 * _o.Window;
                }
                node = node.Left is null ? null : unit[node.Feature] < node.Split ? node.Left : node.Right;
            }
        }
        if ((count + 1) % _o.Window == 0)
            foreach (var root in _roots) Swap(root);
        return count >= 2L * _o.Window ? 1 - score / (_o.Trees * _o.Window * (Math.Pow(2, _o.Height + 1) - 1)) : double.NaN;
    }

    private static void Swap(Node? node)
    {
        if (node is null) return;
        node.Reference = node.Latest;
        node.Latest = 0;
        Swap(node.Left);
        Swap(node.Right);
    }
}
