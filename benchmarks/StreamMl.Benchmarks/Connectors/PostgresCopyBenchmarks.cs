using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Npgsql;
using StreamMl.Connectors;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.ConnectorBenchmarks;

/// <summary>Extracting a 200,000-row table (id, device text, 8 real readings, timestamptz) from PostgreSQL into column
/// batches: StreamMl's PostgresSource (binary COPY, snapshot mode) against the usual ADO.NET way, an NpgsqlDataReader
/// over the same ordered SELECT filling the same arrays. Needs STREAMML_PG (scripts/services.sh starts a server).
/// One operation = the whole table.</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class PostgresCopyBenchmarks
{
    private const int Rows = 200_000;
    private string _connectionString = "";
    private Schema _schema = null!;
    private ColumnBatch _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        _connectionString = Environment.GetEnvironmentVariable("STREAMML_PG")
            ?? throw new InvalidOperationException("STREAMML_PG is not set: run `source scripts/services.sh; services_start` first");
        using var connection = new NpgsqlConnection(_connectionString);
        connection.Open();
        using var create = new NpgsqlCommand($"""
            DROP TABLE IF EXISTS bench_copy;
            CREATE TABLE bench_copy (id bigint PRIMARY KEY, device text, f0 real, f1 real, f2 real, f3 real, f4 real, f5 real, f6 real, f7 real, ts timestamptz);
            INSERT INTO bench_copy SELECT i, 'device-' || (i % 100), random(), random(), random(), random(), random(), random(), random(), random(),
                timestamptz '2026-01-01' + i * interval '10 milliseconds' FROM generate_series(1, {Rows}) AS i;
            ANALYZE bench_copy;
            """, connection);
        create.ExecuteNonQuery();
        _schema = new Schema([new Field("id", ColumnType.Int64), new Field("device", ColumnType.String),
            .. Enumerable.Range(0, 8).Select(f => new Field($"f{f}", ColumnType.Float32)), new Field("ts", ColumnType.Timestamp)]);
        _batch = new ColumnBatch(_schema);
    }

    [Benchmark(Baseline = true, Description = "NpgsqlDataReader row by row")]
    public long DataReader()
    {
        using var connection = new NpgsqlConnection(_connectionString);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT id, device, f0, f1, f2, f3, f4, f5, f6, f7, ts FROM bench_copy ORDER BY id", connection);
        using var reader = command.ExecuteReader();
        long total = 0;
        var row = 0;
        _batch.Reset();
        var ids = _batch[0].Values<long>();
        var devices = _batch[1];
        var ts = _batch[10].Values<long>();
        while (reader.Read())
        {
            ids[row] = reader.GetInt64(0);
            devices.Values<int>()[row] = devices.Dictionary!.GetOrAdd(reader.GetString(1));
            for (var f = 0; f < 8; f++) _batch[2 + f].Values<float>()[row] = reader.GetFloat(2 + f);
            ts[row] = (reader.GetDateTime(10).Ticks - DateTime.UnixEpoch.Ticks) / 10;
            if (++row == _batch.Capacity)
            {
                total += row;
                row = 0;
                _batch.Reset();
            }
        }
        return total + row;
    }

    [Benchmark(Description = "StreamMl PostgresSource (binary COPY)")]
    public long PostgresSource()
    {
        var source = new PostgresSource(new PostgresSourceOptions
        {
            Connection = new PostgresConnectionOptions { ConnectionString = _connectionString },
            Table = "bench_copy",
            Schema = _schema,
            CursorColumn = "id",
            Mode = PostgresReadMode.Snapshot,
            CheckpointTable = null,
        });
        source.OpenAsync(new SourceContext("bench", new CollectingDeadLetterSink()), default).AsTask().GetAwaiter().GetResult();
        long total = 0;
        bool more;
        do
        {
            _batch.Reset();
            more = source.FillAsync(_batch, default).AsTask().GetAwaiter().GetResult();
            total += _batch.Length;
        } while (more);
        source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (total != Rows) throw new InvalidOperationException($"read {total} rows, expected {Rows}");
        return total;
    }

    [GlobalCleanup]
    public void Cleanup() => _batch.Dispose();
}
