using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

public sealed class FoldsTests
{
    private static float[] Labels(int[] raw) => raw.Select(v => (float)(Math.Abs(v) % 3)).ToArray();

    [Property(MaxTest = 200)]
    public Property Stratified_folds_hold_each_class_share_to_within_one_row(int[] raw, PositiveInt kRaw, int seed)
    {
        var labels = Labels(raw);
        var k = 2 + kRaw.Get % 6;
        if (labels.Length < k) return true.ToProperty();
        var folds = Folds.Stratified(labels, k, seed);
        var ok = true;
        foreach (var cls in labels.Distinct())
        {
            var total = labels.Count(l => l == cls);
            for (var f = 0; f < k; f++)
            {
                var inFold = Enumerable.Range(0, labels.Length).Count(i => labels[i] == cls && folds[i] == f);
                ok &= inFold == total / k || inFold == total / k + 1;
            }
        }
        var sizes = Enumerable.Range(0, k).Select(f => folds.Count(x => x == f)).ToArray();
        ok &= sizes.Max() - sizes.Min() <= 1 && folds.All(f => f >= 0 && f < k);
        return ok.Label($"k={k} sizes={string.Join(",", sizes)}");
    }

    [Property(MaxTest = 100)]
    public Property Shuffled_folds_partition_rows_evenly(PositiveInt rowsRaw, PositiveInt kRaw, int seed)
    {
        var k = 2 + kRaw.Get % 8;
        var rows = k + rowsRaw.Get % 500;
        var folds = Folds.Shuffled(rows, k, seed);
        var sizes = Enumerable.Range(0, k).Select(f => folds.Count(x => x == f)).ToArray();
        return (sizes.Sum() == rows && sizes.Max() - sizes.Min() <= 1).ToProperty();
    }

    [Fact]
    public void Stratified_folds_of_credit_default_keep_the_positive_rate_and_change_with_the_seed()
    {
        var labels = LearnerTestData.Credit.Labels;
        var rate = labels.Average();
        var a = Folds.Stratified(labels, 5, 1);
        var b = Folds.Stratified(labels, 5, 2);
        for (var f = 0; f < 5; f++)
        {
            var inFold = Enumerable.Range(0, labels.Length).Where(i => a[i] == f).Select(i => labels[i]).ToArray();
            Assert.InRange(inFold.Average(), rate - 0.001, rate + 0.001);
        }
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) > labels.Length / 2);
        Assert.Equal(a, Folds.Stratified(labels, 5, 1));
    }

    [Fact]
    public void Stratified_split_keeps_the_class_ratio_on_both_sides()
    {
        var labels = LearnerTestData.Credit.Labels;
        var (train, test) = Folds.StratifiedSplit(labels, 0.2, 7);
        Assert.Equal(labels.Length, train.Length + test.Length);
        Assert.Empty(train.Intersect(test));
        Assert.InRange(test.Length, 5999, 6001);
        Assert.InRange(test.Average(i => labels[i]), labels.Average() - 0.001, labels.Average() + 0.001);
        Assert.InRange(train.Average(i => labels[i]), labels.Average() - 0.001, labels.Average() + 0.001);
    }
}
