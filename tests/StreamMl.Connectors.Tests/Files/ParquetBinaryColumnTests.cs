using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>A Parquet BYTE_ARRAY column without a UTF-8 annotation (encoded images, written by DuckDB's read_blob) is
/// read into a binary column, byte for byte, for an image model to decode (docs/images.md), and written back by the
/// Parquet sink as a BLOB that DuckDB reads equal to the files.</summary>
public sealed class ParquetBinaryColumnTests
{
    [Fact]
    public async Task Blob_column_written_by_duckdb_reads_back_as_binary_values_equal_to_the_files()
    {
        var images = Directory.GetFiles(TestData.Data("caltech20", "owl")).Order(StringComparer.Ordinal).Take(5).ToArray();
        var dir = TestData.TempDir();
        var parquet = Path.Combine(dir, "images.parquet");
        var inputs = string.Join(", ", images.Select(f => $"'{f.Replace("'", "''", StringComparison.Ordinal)}'"));
        TestData.Query($"COPY (SELECT filename AS path, content AS image FROM read_blob([{inputs}]) ORDER BY filename) TO '{parquet}' (FORMAT parquet)");
        var options = new FileSourceOptions();
        options.Paths.Add(parquet);
        await using var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), CancellationToken.None);

        Assert.Equal(ColumnType.Binary, source.Schema[source.Schema.IndexOf("image")].Type);
        using var batch = new ColumnBatch(source.Schema, 16);
        while (await source.FillAsync(batch, CancellationToken.None) && batch.Length == 0) batch.Reset();
        Assert.Equal(images.Length, batch.Length);
        var paths = batch[source.Schema.IndexOf("path")];
        var blobs = batch[source.Schema.IndexOf("image")];
        for (var r = 0; r < images.Length; r++)
        {
            var path = paths.Dictionary![paths.Values<int>()[r]];
            Assert.Equal(File.ReadAllBytes(path), blobs.GetBytes(r).ToArray());
        }
        Assert.Equal(images, Enumerable.Range(0, images.Length).Select(r => paths.Dictionary![paths.Values<int>()[r]]));
    }

    [Fact]
    public async Task Binary_column_written_by_the_parquet_sink_reads_back_in_duckdb_equal_to_the_files()
    {
        var images = Directory.GetFiles(TestData.Data("caltech20", "galaxy")).Order(StringComparer.Ordinal).Take(4).ToArray();
        var dir = TestData.TempDir();
        var parquet = Path.Combine(dir, "in.parquet");
        var inputs = string.Join(", ", images.Select(f => $"'{f.Replace("'", "''", StringComparison.Ordinal)}'"));
        TestData.Query($"COPY (SELECT filename AS path, content AS image FROM read_blob([{inputs}])) TO '{parquet}' (FORMAT parquet)");
        var options = new FileSourceOptions();
        options.Paths.Add(parquet);
        var output = Path.Combine(dir, "out");
        await using (var pipeline = Pipeline.From(FileSource.Create(options)).To(new ParquetSink(new ParquetSinkOptions { Directory = output })).Build())
            await pipeline.RunAsync();

        var rows = TestData.Query($"SELECT path, hex(image) FROM read_parquet('{TestData.Glob(output)}') ORDER BY path");
        Assert.Equal(images.Order(StringComparer.Ordinal), rows.Select(r => (string)r[0]!));
        // As hex: DuckDB.NET's blob stream points into the result, which is gone once the rows are materialised.
        foreach (var row in rows) Assert.Equal(Convert.ToHexString(File.ReadAllBytes((string)row[0]!)), (string)row[1]!);
    }
}
