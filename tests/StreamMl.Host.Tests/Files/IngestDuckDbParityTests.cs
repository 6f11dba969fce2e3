namespace StreamMl.Host.Tests.Files;

/// <summary>The benchmarked CLI path (scripts/bench-ingest.sh): a ratings CSV (MovieLens 100k's u.data as comma-separated
/// text with a header, four integer columns) through <c>streamml ingest</c>, with the schema inferred and given, compared
/// row by row (by file row number) with DuckDB's own reading of the same CSV.</summary>
public sealed class IngestDuckDbParityTests
{
    private const string Header = "user_id,item_id,rating,timestamp";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ratings_ParquetEqualsDuckDbsReadingOfTheCsvRowByRow(bool schemaGiven)
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamml-ingest-parity", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var csv = Path.Combine(dir, "ratings.csv");
        var lines = File.ReadLines(StreamMl.Testing.SharedData.File("movielens_100k", "u.data")).Select(l => l.Replace('\t', ','));
        await File.WriteAllLinesAsync(csv, [Header, .. lines]);
        var output = Path.Combine(dir, "out");
        string[] args = schemaGiven
            ? [csv, "-o", output, "--plain", "--schema", "user_id:int64,item_id:int64,rating:int64,timestamp:int64"]
            : [csv, "-o", output, "--plain"];

        var (code, stdout, stderr) = await IngestCli.RunAsync(args);

        Assert.True(code == 0, stdout + stderr);
        var parquet = Directory.GetFiles(output, "*.parquet", SearchOption.AllDirectories).Single().Replace("'", "''");
        var source = csv.Replace("'", "''");
        var counts = DuckDb.Query($"SELECT (SELECT count(*) FROM read_parquet('{parquet}')), (SELECT count(*) FROM read_csv('{source}'))").Single();
        Assert.Equal(100_000L, Convert.ToInt64(counts[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(counts[1], counts[0]);
        // DuckDB writes its own reading of the CSV to Parquet (COPY keeps the file's row order), then both files are
        // joined on their row numbers: any value out of place or different is counted.
        var duck = Path.Combine(dir, "duckdb.parquet").Replace("'", "''");
        DuckDb.Query($"COPY (SELECT * FROM read_csv('{source}')) TO '{duck}' (FORMAT parquet)");
        var differing = DuckDb.Query($"""
            SELECT count(*) FROM read_parquet('{duck}', file_row_number = true) c
            FULL OUTER JOIN read_parquet('{parquet}', file_row_number = true) p USING (file_row_number)
            WHERE c.user_id IS DISTINCT FROM p.user_id OR c.item_id IS DISTINCT FROM p.item_id
               OR c.rating IS DISTINCT FROM p.rating OR c.timestamp IS DISTINCT FROM p.timestamp
            """).Single()[0];
        Assert.Equal(0L, Convert.ToInt64(differing, System.Globalization.CultureInfo.InvariantCulture));
        Directory.Delete(dir, recursive: true);
    }
}
