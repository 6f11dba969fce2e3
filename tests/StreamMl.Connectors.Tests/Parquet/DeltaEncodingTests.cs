using System.Globalization;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Parquet;

/// <summary>Integer columns are delta-encoded: DuckDB must read back exactly what was written, extremes included.</summary>
public sealed class DeltaEncodingTests
{
    [Fact]
    public async Task ExtremeIntegers_WhoseDeltasOverflow_ReadBackExactlyInDuckDb()
    {
        var dir = TestData.TempDir();
        var input = Path.Combine(dir, "extremes.csv");
        long[] longs = [0, long.MaxValue, long.MinValue, -1, 1, long.MaxValue, long.MaxValue - 1, long.MinValue + 1, long.MinValue, 42];
        int[] ints = [0, int.MaxValue, int.MinValue, -1, 1, int.MaxValue, int.MaxValue - 1, int.MinValue + 1, int.MinValue, 42];
        var expected = new List<(long Row, long L, int I, long? N)>();
        using (var writer = new StreamWriter(input))
        {
            writer.WriteLine("row,l,i,n");
            for (var r = 0; r < 3_000; r++)
            {
                var l = longs[r % longs.Length] ^ (r % 7 == 0 ? r : 0);
                var i = ints[(r * 3) % ints.Length];
                long? n = r % 3 == 0 ? null : longs[(r * 7) % longs.Length];
                expected.Add((r, l, i, n));
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r},{l},{i},{n}"));
            }
        }
        var options = new FileSourceOptions { Schema = SchemaText.Parse("row:int64,l:int64,i:int32,n:int64") };
        options.Paths.Add(input);
        var output = Path.Combine(dir, "out");
        var source = FileSource.Create(options);
        await using (var pipeline = Pipeline.From(source).To(new ParquetSink(new ParquetSinkOptions { Directory = output, RowGroupRows = 1_000 })).Build())
            await pipeline.RunAsync();
        Assert.Equal(3_000, source.RowsProduced);

        var rows = TestData.Query($"SELECT \"row\", l, i, n FROM read_parquet('{TestData.Glob(output)}') ORDER BY \"row\"");
        Assert.Equal(expected.Count, rows.Count);
        for (var k = 0; k < rows.Count; k++)
            Assert.Equal(expected[k], (Convert.ToInt64(rows[k][0], CultureInfo.InvariantCulture), Convert.ToInt64(rows[k][1], CultureInfo.InvariantCulture), Convert.ToInt32(rows[k][2], CultureInfo.InvariantCulture),
                rows[k][3] is null ? (long?)null : Convert.ToInt64(rows[k][3], CultureInfo.InvariantCulture)));
    }
}
