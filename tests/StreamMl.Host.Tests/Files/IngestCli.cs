using System.CommandLine;
using Parquet;
using Parquet.Schema;
using StreamMl.Host.Files;

namespace StreamMl.Host.Tests.Files;

/// <summary>Runs <c>streamml ingest</c> in process and reads its Parquet output back with Parquet.Net.</summary>
internal static class IngestCli
{
    /// <summary>The command's exit code, standard output and standard error.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var root = new RootCommand { IngestCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var parse = root.Parse(["ingest", .. args]);
        Assert.Empty(parse.Errors);
        var code = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Every value of a numeric column in every Parquet file under <paramref name="dir"/> (files in name order),
    /// read with Parquet.Net.</summary>
    public static Task<List<T?>> ReadColumnAsync<T>(string dir, string column) where T : struct =>
        ReadAsync<T?>(dir, column, async (group, field, buffer) => await group.ReadAsync(field, buffer));

    /// <summary>Every value of a string column, as <see cref="ReadColumnAsync{T}"/> reads them.</summary>
    public static Task<List<string?>> ReadStringsAsync(string dir, string column) =>
        ReadAsync<string?>(dir, column, async (group, field, buffer) => await group.ReadAsync(field, buffer));

    private static async Task<List<T>> ReadAsync<T>(string dir, string column, Func<ParquetRowGroupReader, DataField, Memory<T>, Task> read)
    {
        var values = new List<T>();
        foreach (var file in Directory.GetFiles(dir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await using var stream = File.OpenRead(file);
            await using var reader = await ParquetReader.CreateAsync(stream);
            var field = reader.Schema.GetDataFields().Single(f => f.Name == column);
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var buffer = new T[group.RowCount];
                await read(group, field, buffer.AsMemory());
                values.AddRange(buffer);
            }
        }
        return values;
    }
}
