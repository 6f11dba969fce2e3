using System.Globalization;
using StreamMl.Connectors.DeadLetters;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>The shared datasets go through FileSource and ParquetSink and are read back by DuckDB, which StreamMl did
/// not write, and compared value by value with a plain split-on-comma parse of the same file.</summary>
public sealed class RealDataTests
{
    private static async Task<(FileSource Source, ParquetSink Sink, CollectingDeadLetterSink Dead, string Out)> Ingest(string path, Action<FileSourceOptions>? configure = null)
    {
        var options = new FileSourceOptions();
        options.Paths.Add(path);
        configure?.Invoke(options);
        var source = FileSource.Create(options);
        var output = TestData.TempDir();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
        var dead = new CollectingDeadLetterSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { Name = "test", DeadLetters = dead }).To(sink).Build())
            await pipeline.RunAsync();
        return (source, sink, dead, output);
    }

    [Fact]
    public async Task CreditDefault_AllRowsTypedAndReadBackByDuckDb()
    {
        var path = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        var (header, rows) = TestData.PlainCsv(path);
        var (source, sink, dead, output) = await Ingest(path);

        Assert.Equal(rows.Count, (int)source.RecordsRead);
        Assert.Equal(30_000, rows.Count);
        Assert.Empty(dead.Letters);
        Assert.Equal(source.RecordsRead, sink.RowsWritten);
        Assert.All(source.Schema, f => Assert.Equal(ColumnType.Int64, f.Type));
        Assert.Equal(header, source.Schema.Select(f => f.Name));

        var back = TestData.Query($"SELECT * FROM read_parquet('{TestData.Glob(output)}') ORDER BY ID");
        Assert.Equal(rows.Count, back.Count);
        // The file has integers in exponent form (R wrote 100000 as "1e+05"); decimal parsing is the exact reference.
        Assert.Contains(rows, r => r.Any(v => v.Contains("e+", StringComparison.Ordinal)));
        var expected = rows.OrderBy(r => long.Parse(r[0], CultureInfo.InvariantCulture)).ToList();
        for (var i = 0; i < expected.Count; i++)
            for (var c = 0; c < header.Length; c++)
                Assert.Equal(decimal.Parse(expected[i][c], NumberStyles.Float, CultureInfo.InvariantCulture), Convert.ToDecimal(back[i][c], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task CaliforniaHousing_NullsAndTextCategoryRoundTrip()
    {
        var path = TestData.Data("california_housing", "housing.csv");
        var (header, rows) = TestData.PlainCsv(path);
        var (source, sink, dead, output) = await Ingest(path);

        Assert.Empty(dead.Letters);
        Assert.Equal(20_640, sink.RowsWritten);
        Assert.Equal(rows.Count, (int)sink.RowsWritten);
        Assert.Equal(ColumnType.String, source.Schema["ocean_proximity".Length > 0 ? source.Schema.IndexOf("ocean_proximity") : 0].Type);
        Assert.Equal(ColumnType.Float64, source.Schema[source.Schema.IndexOf("total_bedrooms")].Type);

        var glob = TestData.Glob(output);
        var emptyInReference = rows.Count(r => r[4].Length == 0);
        Assert.Equal(207, emptyInReference);
        Assert.Equal(emptyInReference, TestData.Scalar($"SELECT count(*) FROM read_parquet('{glob}') WHERE total_bedrooms IS NULL"));
        var categories = TestData.Query($"SELECT ocean_proximity, count(*) FROM read_parquet('{glob}') GROUP BY 1 ORDER BY 1");
        var expectedCategories = rows.GroupBy(r => r[9]).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expectedCategories.Select(g => (g.Key, (long)g.Count())), categories.Select(r => ((string)r[0]!, Convert.ToInt64(r[1], CultureInfo.InvariantCulture))));

        // Row order is preserved by the sink: compare every value in file order.
        var back = TestData.Query($"SELECT * FROM read_parquet('{glob}')");
        for (var i = 0; i < rows.Count; i++)
        {
            for (var c = 0; c < 9; c++)
            {
                if (rows[i][c].Length == 0) Assert.Null(back[i][c]);
                else Assert.Equal(double.Parse(rows[i][c], CultureInfo.InvariantCulture), (double)back[i][c]!);
            }
            Assert.Equal(rows[i][9], back[i][9]);
        }
    }

    [Theory]
    [InlineData("machine_temperature_system_failure.csv", 22_695, ColumnType.Float64)]
    [InlineData("nyc_taxi.csv", 10_320, ColumnType.Int64)]
    public async Task Nab_TimestampsAreUtcAndValuesExact(string file, int expectedRows, ColumnType valueType)
    {
        var path = TestData.Data("nab", file);
        var (_, rows) = TestData.PlainCsv(path);
        var (source, sink, dead, output) = await Ingest(path, o => o.EventTimeColumn = "timestamp");

        Assert.Empty(dead.Letters);
        Assert.Equal(expectedRows, rows.Count);
        Assert.Equal(expectedRows, sink.RowsWritten);
        Assert.Equal(ColumnType.Timestamp, source.Schema[0].Type);
        Assert.Equal(valueType, source.Schema[1].Type);

        var back = TestData.Query($"SELECT epoch_us(timestamp), CAST(value AS DOUBLE) FROM read_parquet('{TestData.Glob(output)}')");
        Assert.Equal(rows.Count, back.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var expected = DateTime.ParseExact(rows[i][0], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
            Assert.Equal((expected - DateTime.UnixEpoch).Ticks / 10, Convert.ToInt64(back[i][0], CultureInfo.InvariantCulture));
            Assert.Equal(double.Parse(rows[i][1], CultureInfo.InvariantCulture), (double)back[i][1]!);
        }
    }

    [Fact]
    public void Inference_IsPrintableAndRoundTripsAsDeclaration()
    {
        var options = new FileSourceOptions();
        options.Paths.Add(TestData.Data("california_housing", "housing.csv"));
        var source = FileSource.Create(options);
        var text = source.Inference!.ToString();
        Assert.Contains("total_bedrooms", text);
        Assert.Contains("float64", text);
        Assert.Contains("ocean_proximity", text);
        Assert.Equal(source.Schema, SchemaText.Parse(source.Inference.Declaration));
        Assert.Contains(source.Inference.Columns, c => c.Name == "total_bedrooms" && c.Nulls > 0);
    }

    [Fact]
    public async Task DeclaredSchema_ReadsOnlyDeclaredColumnsWithDeclaredTypes()
    {
        var path = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        var (header, rows) = TestData.PlainCsv(path);
        var (source, sink, dead, output) = await Ingest(path, o => o.Schema = SchemaText.Parse("ID:int32!,LIMIT_BAL:float32,default.payment.next.month:bool"));
        Assert.Empty(dead.Letters);
        var back = TestData.Query($"SELECT ID, LIMIT_BAL, \"default.payment.next.month\" FROM read_parquet('{TestData.Glob(output)}') ORDER BY ID");
        Assert.Equal(rows.Count, back.Count);
        var target = Array.IndexOf(header, "default.payment.next.month");
        var byId = rows.ToDictionary(r => int.Parse(r[0], CultureInfo.InvariantCulture));
        foreach (var row in back)
        {
            var reference = byId[(int)row[0]!];
            Assert.Equal(float.Parse(reference[1], NumberStyles.Float, CultureInfo.InvariantCulture), (float)row[1]!);
            Assert.Equal(reference[target] == "1", (bool)row[2]!);
        }
    }
}
