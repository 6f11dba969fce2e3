using StreamMl.Connectors.DeadLetters;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.DeadLetters;

/// <summary>Parquet dead-letter parts never replace each other, whoever else writes parts into the folder.</summary>
public sealed class DeadLetterPartNumberingTests
{
    private static DeadLetter Letter(int sink, int i) => new("p", "s", "type", "m", "loc", sink, i, "raw");

    [Fact]
    public void TwoSinksSharingAFolder_KeepEveryLetter()
    {
        var path = Path.Combine(TestData.TempDir(), "shared.parquet");
        using var first = new ParquetDeadLetterSink(path);
        using var second = new ParquetDeadLetterSink(path); // e.g. two consumer-group members, or a restart while the old one drains
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                first.Write(Letter(0, round * 10 + i));
                second.Write(Letter(1, round * 10 + i));
            }
            first.Flush();
            second.Flush();
        }
        Assert.Equal(60, TestData.Scalar($"SELECT count(*) FROM read_parquet('{path}/*.parquet')"));
        Assert.Equal(6, Directory.GetFiles(path, "part-*.parquet").Length);
        Assert.Equal(6, first.PublishedParts.Concat(second.PublishedParts).Distinct().Count());
    }
}
