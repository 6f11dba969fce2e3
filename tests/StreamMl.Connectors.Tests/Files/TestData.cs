using System.Globalization;
using DuckDB.NET.Data;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Finds the shared datasets and gives tests temp folders and an independent Parquet reader (DuckDB).</summary>
internal static class TestData
{
    public static string RepoRoot => StreamMl.Testing.SharedData.RepositoryRoot;

    public static string Data(params string[] parts) => StreamMl.Testing.SharedData.File(parts);

    public static string BadInput(string name) =>
        Path.Combine(RepoRoot, "tests", "StreamMl.Connectors.Tests", "BadInput", name);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "streamml-files-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs a query in an in-memory DuckDB and returns every row as objects.</summary>
    public static List<object?[]> Query(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public static long Scalar(string sql) => Convert.ToInt64(Query(sql)[0][0], CultureInfo.InvariantCulture);

    public static string Glob(string dir) => Path.Combine(dir, "**", "*.parquet").Replace("'", "''");

    /// <summary>A file source run into a Parquet sink: what was read, written and dead-lettered, and the output folder.</summary>
    public sealed record ParquetRun(FileSource Source, ParquetSink Sink, CollectingDeadLetterSink Dead, string Output);

    /// <summary>Reads the files of <paramref name="options"/> into Parquet files in a new temp folder, and checks the
    /// reconciliation: every record read is either written or dead-lettered (there is no filter in this pipeline).</summary>
    public static async Task<ParquetRun> IngestToParquetAsync(FileSourceOptions options)
    {
        var source = FileSource.Create(options);
        var output = TempDir();
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output });
        var dead = new CollectingDeadLetterSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { DeadLetters = dead }).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(source.RecordsRead, sink.RowsWritten + dead.Count);
        return new ParquetRun(source, sink, dead, output);
    }

    /// <summary>A plain CSV reader for files without quotes: the reference the source is compared with.</summary>
    public static (string[] Header, List<string[]> Rows) PlainCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        return (header, lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList());
    }
}
