using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class ResamplingTests
{
    private static TrainingSet RandomSet(int seed, int rows, int features, double positiveRate)
    {
        var random = new Random(seed);
        var x = new float[rows * features];
        for (var i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 10 - 5);
        var y = new float[rows];
        for (var i = 0; i < rows; i++) y[i] = random.NextDouble() < positiveRate ? 1 : 0;
        y[0] = 1; y[1] = 1; y[2] = 0;
        return new TrainingSet(x, features, y);
    }

    /// <summary>Brute force: is <paramref name="point"/> on the segment from a to one of a's k nearest same-class rows?</summary>
    private static bool OnNeighbourSegment(TrainingSet original, ReadOnlySpan<float> point, float label, int k)
    {
        var rows = Enumerable.Range(0, original.Rows).Where(i => original.Labels[i] == label).ToArray();
        foreach (var a in rows)
        {
            var neighbours = rows.Where(b => b != a)
                .Select(b => (b, d: Distance(original.Row(a), original.Row(b))))
                .OrderBy(t => t.d).ToArray();
            if (neighbours.Length == 0) continue;
            var kth = neighbours[Math.Min(k, neighbours.Length) - 1].d;
            // Rows tied with the k-th distance are all valid neighbours.
            foreach (var (b, d) in neighbours)
            {
                if (d > kth) break;
                if (OnSegment(original.Row(a), original.Row(b), point)) return true;
            }
        }
        return false;
    }

    private static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return s;
    }

    private static bool OnSegment(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> p)
    {
        // p = a + t (b - a): estimate t on the widest axis, then check every axis and 0 <= t <= 1.
        var axis = 0;
        for (var f = 1; f < a.Length; f++) if (Math.Abs(b[f] - a[f]) > Math.Abs(b[axis] - a[axis])) axis = f;
        var span = (double)b[axis] - a[axis];
        var t = span == 0 ? 0 : (p[axis] - a[axis]) / span;
        if (t < -1e-5 || t > 1 + 1e-5) return false;
        for (var f = 0; f < a.Length; f++)
        {
            var expected = a[f] + t * ((double)b[f] - a[f]);
            if (Math.Abs(expected - p[f]) > 1e-4 * (1 + Math.Abs(expected))) return false;
        }
        return true;
    }

    [Property(MaxTest = 40)]
    public Property Every_smote_point_lies_between_two_same_class_neighbours(PositiveInt seedRaw, PositiveInt kRaw)
    {
        var k = 1 + kRaw.Get % 5;
        var set = RandomSet(seedRaw.Get, 60, 3, 0.2);
        var resampled = new Smote(k).Resample(set, seedRaw.Get);
        var ok = true;
        for (var i = 0; i < resampled.Rows; i++)
        {
            if (resampled.RowIds[i] != TrainingSet.SyntheticRow) continue;
            ok &= OnNeighbourSegment(set, resampled.Row(i), resampled.Labels[i], k);
        }
        var counts = resampled.ClassCounts();
        return (ok && counts[0] == counts[1]).Label($"k={k} counts={string.Join(",", counts)}");
    }

    [Fact]
    public void Smote_keeps_every_original_row_unchanged_and_only_adds_minority_rows()
    {
        var set = LearnerTestData.Head(LearnerTestData.Credit, 1500);
        var resampled = new Smote(5).Resample(set, 11);
        for (var i = 0; i < set.Rows; i++)
        {
            Assert.Equal(set.RowIds[i], resampled.RowIds[i]);
            Assert.True(set.Row(i).SequenceEqual(resampled.Row(i)));
        }
        var synthetic = Enumerable.Range(0, resampled.Rows).Where(i => resampled.RowIds[i] == TrainingSet.SyntheticRow).ToArray();
        Assert.Equal(set.ClassCounts()[0] - set.ClassCounts()[1], synthetic.Length);
        Assert.All(synthetic, i => Assert.Equal(1f, resampled.Labels[i]));
        // A synthetic point never leaves the bounding box of its class (a weaker, independent check on real data).
        var positives = Enumerable.Range(0, set.Rows).Where(i => set.Labels[i] == 1).ToArray();
        for (var f = 0; f < set.FeatureCount; f++)
        {
            var min = positives.Min(i => set.Row(i)[f]);
            var max = positives.Max(i => set.Row(i)[f]);
            Assert.All(synthetic, i => Assert.InRange(resampled.Row(i)[f], min - 1e-3f * Math.Abs(min), max + 1e-3f * Math.Abs(max)));
        }
    }

    [Fact]
    public void Random_over_and_under_sampling_balance_the_classes_with_original_rows()
    {
        var set = RandomSet(5, 500, 4, 0.15);
        var counts = set.ClassCounts();
        var over = new RandomOverSampler().Resample(set, 1);
        Assert.Equal([counts.Max(), counts.Max()], over.ClassCounts());
        var under = new RandomUnderSampler().Resample(set, 1);
        Assert.Equal([counts.Min(), counts.Min()], under.ClassCounts());
        foreach (var s in new[] { over, under })
        {
            for (var i = 0; i < s.Rows; i++)
            {
                Assert.NotEqual(TrainingSet.SyntheticRow, s.RowIds[i]);
                Assert.True(s.Row(i).SequenceEqual(set.Row(s.RowIds[i])));
                Assert.Equal(set.Labels[s.RowIds[i]], s.Labels[i]);
            }
        }
        Assert.Equal(under.Rows, under.RowIds.Distinct().Count());
    }

    [Fact]
    public void Balanced_weights_give_each_class_the_same_total_weight()
    {
        var set = RandomSet(9, 400, 2, 0.1);
        var weights = Resamplers.BalancedWeights(set);
        var totals = new double[2];
        for (var i = 0; i < set.Rows; i++) totals[(int)set.Labels[i]] += weights[i];
        Assert.Equal(set.Rows / 2.0, totals[0], 3);
        Assert.Equal(set.Rows / 2.0, totals[1], 3);
    }
}
