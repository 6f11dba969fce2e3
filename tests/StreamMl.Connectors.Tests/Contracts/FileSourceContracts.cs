using ParquetSharp;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Engine;
using Column = ParquetSharp.Column;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>The file source over a file of each format it reads, resuming from its checkpoint file.</summary>
public abstract class FileSourceContract(ITestOutputHelper output) : ResumableSourceContract(output)
{
    private readonly string _directory = TestData.TempDir();
    private readonly string _checkpoint = Path.Combine(TestData.TempDir(), "files.checkpoint");

    protected string PathFor(string extension) => Path.Combine(_directory, "contract" + extension);

    protected abstract string Write(IReadOnlyList<ContractRecord> records);

    private string? _path;

    protected override Task SeedAsync(IReadOnlyList<ContractRecord> records)
    {
        _path = Write(records);
        return Task.CompletedTask;
    }

    protected override IBatchSource CreateSource()
    {
        var options = new FileSourceOptions { Schema = ContractRecord.Schema, CheckpointPath = _checkpoint };
        options.Paths.Add(_path!);
        return FileSource.Create(options);
    }
}

public sealed class CsvFileSourceContract(ITestOutputHelper output) : FileSourceContract(output)
{
    protected override string Write(IReadOnlyList<ContractRecord> records)
    {
        var path = PathFor(".csv");
        File.WriteAllLines(path, records.Select(r => r.ToCsvLine()).Prepend("id,value,name"));
        return path;
    }
}

public sealed class JsonLinesFileSourceContract(ITestOutputHelper output) : FileSourceContract(output)
{
    protected override string Write(IReadOnlyList<ContractRecord> records)
    {
        var path = PathFor(".jsonl");
        File.WriteAllLines(path, records.Select(r => r.ToJson()));
        return path;
    }
}

/// <summary>Input written by ParquetSharp (Arrow's C++ writer), in row groups of 64.</summary>
public sealed class ParquetFileSourceContract(ITestOutputHelper output) : FileSourceContract(output)
{
    protected override string Write(IReadOnlyList<ContractRecord> records)
    {
        var path = PathFor(".parquet");
        var columns = new ParquetSharp.Column[] { new Column<long>("id"), new Column<double?>("value"), new Column<string>("name") };
        using var writer = new ParquetFileWriter(path, columns);
        foreach (var chunk in records.Chunk(64))
        {
            using var group = writer.AppendRowGroup();
            using (var ids = group.NextColumn().LogicalWriter<long>()) ids.WriteBatch(chunk.Select(r => r.Id).ToArray());
            using (var values = group.NextColumn().LogicalWriter<double?>()) values.WriteBatch(chunk.Select(r => r.Value).ToArray());
            using (var names = group.NextColumn().LogicalWriter<string>()) names.WriteBatch(chunk.Select(r => r.Name).ToArray());
        }
        writer.Close();
        return path;
    }
}
