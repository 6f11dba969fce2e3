using System.Text.Json;
using Npgsql;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Split;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>Reads every contract record under a folder of Parquet files with DuckDB.</summary>
internal static class ParquetReadBack
{
    public static IReadOnlyList<ContractRecord> Folder(string directory) =>
        Directory.GetFiles(directory, "*.parquet", SearchOption.AllDirectories).Length == 0
            ? []
            : [.. TestData.Query($"SELECT id, value, name FROM read_parquet('{TestData.Glob(directory)}')")
                .Select(r => new ContractRecord(Convert.ToInt64(r[0]), r[1] is null ? null : Convert.ToDouble(r[1]), (string)r[2]!))];
}

public sealed class ParquetSinkContract(ITestOutputHelper output) : SinkContract(output)
{
    private readonly string _directory = TestData.TempDir();

    protected override Task<IBatchSink> CreateSinkAsync() =>
        Task.FromResult<IBatchSink>(new ParquetSink(new ParquetSinkOptions { Directory = _directory, RowGroupRows = 32, PublishOnFlush = true }));

    protected override Task<IReadOnlyList<ContractRecord>> ReadBackAsync() => Task.FromResult(ParquetReadBack.Folder(_directory));
}

public sealed class TrainTestSplitSinkContract(ITestOutputHelper output) : SinkContract(output)
{
    private readonly string _directory = TestData.TempDir();

    protected override Task<IBatchSink> CreateSinkAsync() =>
        Task.FromResult<IBatchSink>(new TrainTestSplitSink(new TrainTestSplitOptions { Directory = _directory, TestFraction = 0.3, StratifyBy = "name", Parquet = { PublishOnFlush = true } }));

    protected override Task<IReadOnlyList<ContractRecord>> ReadBackAsync() => Task.FromResult(ParquetReadBack.Folder(_directory));
}

/// <summary>Binary COPY with upsert by id, read back with Npgsql's ordinary reader.</summary>
[Collection("postgres")]
public sealed class PostgresSinkContract(ITestOutputHelper output) : SinkContract(output)
{
    private readonly string _table = "contract_sink_" + Guid.NewGuid().ToString("N")[..10];
    private string? _connectionString;

    protected override Task<IBatchSink> CreateSinkAsync()
    {
        _connectionString = TestServices.Postgres();
        return Task.FromResult<IBatchSink>(new PostgresSink(new PostgresSinkOptions
        {
            Connection = new PostgresConnectionOptions { ConnectionString = _connectionString },
            Table = _table,
            KeyColumns = ["id"],
        }));
    }

    protected override async Task<IReadOnlyList<ContractRecord>> ReadBackAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id, value, name FROM {_table}", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var records = new List<ContractRecord>();
        while (await reader.ReadAsync())
            records.Add(new ContractRecord(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetDouble(1), reader.GetString(2)));
        return records;
    }
}

/// <summary>JSON messages on librdkafka's mock cluster, read back by a plain Confluent.Kafka consumer and System.Text.Json.</summary>
public sealed class KafkaSinkContract(ITestOutputHelper output) : SinkContract(output), IDisposable
{
    private readonly KafkaMockCluster _cluster = new();
    private readonly string _topic = "contract-sink-" + Guid.NewGuid().ToString("N")[..8];

    protected override Task<IBatchSink> CreateSinkAsync() =>
        Task.FromResult<IBatchSink>(new KafkaSink(new KafkaSinkOptions { BootstrapServers = _cluster.BootstrapServers, Topic = _topic }));

    protected override Task<IReadOnlyList<ContractRecord>> ReadBackAsync()
    {
        var end = _cluster.EndOffsets(_topic).Values.Sum();
        var messages = _cluster.ReadAll(_topic, (int)end);
        return Task.FromResult<IReadOnlyList<ContractRecord>>([.. messages.Select(m =>
        {
            using var json = JsonDocument.Parse(m.Message.Value);
            var root = json.RootElement;
            var value = root.GetProperty("value");
            return new ContractRecord(root.GetProperty("id").GetInt64(),
                value.ValueKind == JsonValueKind.Null ? null : value.GetDouble(), root.GetProperty("name").GetString()!);
        })]);
    }

    public void Dispose() => _cluster.Dispose();
}
