using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>The bounded fingerprint of training rows behind evaluate's overlap warning (issue 12 item 21).</summary>
public sealed class TrainingRowHashesTests
{
    private static DataTable Table(int rows) => new("synthetic.csv",
        [
            new DataColumn("x", Enumerable.Range(0, rows).Select(i => (double)i).ToArray(), null),
            new DataColumn("c", null, Enumerable.Range(0, rows).Select(i => i % 7 == 0 ? null : $"k{i % 13}").ToArray()),
        ],
        rows, Enumerable.Range(0, rows).Select(i => (long)i + 2).ToArray());

    [Fact]
    public void Up_to_the_capacity_every_training_row_is_kept_and_the_overlap_is_exact()
    {
        var table = Table(10_000);
        var (sample, bytes) = TrainingRowHashes.Build(table, ["x", "c"], Enumerable.Range(0, 6_000).ToArray());
        Assert.Equal(ulong.MaxValue, sample.Cutoff);
        Assert.Equal(6_000, sample.Count);
        Assert.Equal(6_000 * 8, bytes.Length);
        // Rows 4,000..9,999: the first 2,000 of them were trained on.
        var (sampled, found) = TrainingRowHashes.Overlap(sample, bytes, table, Enumerable.Range(4_000, 6_000).ToArray());
        Assert.Equal(6_000, sampled);
        Assert.Equal(2_000, found);
    }

    [Fact]
    public void Beyond_the_capacity_the_smallest_hashes_estimate_the_overlap()
    {
        var table = Table(300_000);
        var trained = Enumerable.Range(0, 150_000).ToArray();
        var (sample, bytes) = TrainingRowHashes.Build(table, ["x", "c"], trained);
        Assert.Equal(RowSample.Capacity, sample.Count);
        Assert.Equal(RowSample.Capacity * 8, bytes.Length);
        Assert.True(sample.Cutoff < ulong.MaxValue);

        // Rows 100,000..199,999: exactly half were trained on.
        var (sampled, found) = TrainingRowHashes.Overlap(sample, bytes, table, Enumerable.Range(100_000, 100_000).ToArray());
        // About capacity/150,000 of any rows fall under the cutoff.
        var expected = 100_000.0 * RowSample.Capacity / 150_000;
        Assert.InRange(sampled, expected * 0.95, expected * 1.05);
        Assert.InRange((double)found / sampled, 0.48, 0.52);
        // Rows never trained on are never found.
        var (_, none) = TrainingRowHashes.Overlap(sample, bytes, table, Enumerable.Range(150_000, 150_000).ToArray());
        Assert.Equal(0, none);
    }
}
