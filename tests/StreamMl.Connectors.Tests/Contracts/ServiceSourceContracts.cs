using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Connectors.Tests.Files;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Connectors.Tests.Mqtt;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>A consumer-group member of librdkafka's mock cluster; JSON payloads.</summary>
public sealed class KafkaSourceContract(ITestOutputHelper output) : ResumableSourceContract(output), IDisposable
{
    private readonly KafkaMockCluster _cluster = new();
    private readonly string _topic = "contract-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _group = "contract-" + Guid.NewGuid().ToString("N")[..8];

    protected override Task SeedAsync(IReadOnlyList<ContractRecord> records)
    {
        _cluster.Produce(_topic, records.Select(r => ((string?)r.Id.ToString(CultureInfo.InvariantCulture), r.ToJson())));
        return Task.CompletedTask;
    }

    protected override IBatchSource CreateSource() => new KafkaSource(new KafkaSourceOptions
    {
        BootstrapServers = _cluster.BootstrapServers,
        Topics = [_topic],
        GroupId = _group,
        Schema = ContractRecord.Schema,
        Config = { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" },
    });

    public void Dispose() => _cluster.Dispose();
}

/// <summary>Binary COPY snapshot of a table by its id cursor, checkpoint in the database.</summary>
[Collection("postgres")]
public sealed class PostgresSourceContract(ITestOutputHelper output) : ResumableSourceContract(output)
{
    private readonly string _table = "contract_" + Guid.NewGuid().ToString("N")[..10];
    private string? _connectionString;

    protected override async Task SeedAsync(IReadOnlyList<ContractRecord> records)
    {
        _connectionString = TestServices.Postgres();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand($"CREATE TABLE {_table} (id bigint PRIMARY KEY, value double precision, name text)", connection))
            await create.ExecuteNonQueryAsync();
        await using var insert = new NpgsqlCommand($"INSERT INTO {_table} SELECT * FROM unnest(@ids, @values, @names)", connection);
        insert.Parameters.AddWithValue("ids", records.Select(r => r.Id).ToArray());
        insert.Parameters.AddWithValue("values", records.Select(r => r.Value).ToArray());
        insert.Parameters.AddWithValue("names", records.Select(r => r.Name).ToArray());
        await insert.ExecuteNonQueryAsync();
    }

    protected override IBatchSource CreateSource() => new PostgresSource(new PostgresSourceOptions
    {
        Connection = new PostgresConnectionOptions { ConnectionString = _connectionString! },
        Table = _table,
        Schema = ContractRecord.Schema,
        CursorColumn = "id",
        Mode = PostgresReadMode.Snapshot,
    });
}

/// <summary>QoS 1 messages queued by mosquitto for a persistent session; the name comes from the topic.</summary>
public sealed class MqttSourceContract(ITestOutputHelper output) : ResumableSourceContract(output), IDisposable
{
    private readonly string _prefix = "contract-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _clientId = "contract-" + Guid.NewGuid().ToString("N")[..8];
    private (string Host, int Port) _broker;

    protected override async Task SeedAsync(IReadOnlyList<ContractRecord> records)
    {
        var broker = _broker = TestServices.Mqtt();
        // Subscribe once with the persistent session, so mosquitto queues what is published while nobody is connected.
        await using (var subscriber = CreateSource())
            await subscriber.OpenAsync(new SourceContext("contract", new CollectingDeadLetterSink()), CancellationToken.None);
        await MqttTestClient.PublishAsync(broker.Host, broker.Port,
            records.Select(r => ($"{_prefix}/{r.Name}/telemetry", JsonSerializer.Serialize(new { id = r.Id, value = r.Value }))));
    }

    protected override IBatchSource CreateSource() => new MqttSource(new MqttSourceOptions
    {
        Host = _broker.Host,
        Port = _broker.Port,
        ClientId = _clientId,
        Topics = [$"{_prefix}/+/telemetry"],
        Schema = new Schema(new Field("id", ColumnType.Int64, Nullable: false), new Field("value", ColumnType.Float64)),
        DeviceIdColumn = "name",
        LoggerFactory = _log,
    });

    private readonly LogCapture _log = new();

    public void Dispose() => Output.WriteLine(_log.All);
}

/// <summary>A JSON REST endpoint paged by next links (HttpListener on 127.0.0.1), checkpoint in a file.</summary>
public sealed class HttpSourceContract(ITestOutputHelper output) : ResumableSourceContract(output), IDisposable
{
    private readonly string _checkpoint = Path.Combine(TestData.TempDir(), "http.checkpoint");
    private HttpListener? _listener;
    private IReadOnlyList<ContractRecord> _records = [];
    private int _port;

    protected override Task SeedAsync(IReadOnlyList<ContractRecord> records)
    {
        _records = records;
        for (var attempt = 0; _listener is null; attempt++)
        {
            _port = Random.Shared.Next(20_000, 60_000);
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{_port}/");
            try
            {
                listener.Start();
                _listener = listener;
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close();
            }
        }
        _ = Task.Run(ServeAsync);
        return Task.CompletedTask;
    }

    private async Task ServeAsync()
    {
        while (_listener is { IsListening: true } listener)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) { return; }
            var start = int.Parse(context.Request.QueryString["start"] ?? "0", CultureInfo.InvariantCulture);
            var end = Math.Min(start + 40, _records.Count);
            var items = _records.Skip(start).Take(end - start).Select(r => new { id = r.Id, value = r.Value, name = r.Name });
            var body = JsonSerializer.SerializeToUtf8Bytes(new { items, next = end < _records.Count ? $"/items?start={end}" : null });
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    protected override IBatchSource CreateSource() => new HttpSource(new HttpSourceOptions
    {
        Url = new Uri($"http://127.0.0.1:{_port}/items?start=0"),
        Schema = ContractRecord.Schema,
        RecordsPath = "$.items",
        Pagination = HttpPagination.NextLink,
        StopAtEnd = true,
        RequestsPerSecond = 0,
        CheckpointPath = _checkpoint,
    });

    public void Dispose() => _listener?.Close();
}
