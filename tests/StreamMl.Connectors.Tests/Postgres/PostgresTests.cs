using System.Diagnostics;
using System.Globalization;
using Npgsql;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Postgres;

[Collection("postgres")]
public sealed class PostgresTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(
        new Field("id", ColumnType.Int64, Nullable: false),
        new Field("device", ColumnType.String),
        new Field("temp", ColumnType.Float32),
        new Field("pressure", ColumnType.Float64),
        new Field("n", ColumnType.Int32),
        new Field("ok", ColumnType.Bool),
        new Field("ts", ColumnType.Timestamp));

    private static string NewTable() => "readings_" + Guid.NewGuid().ToString("N")[..10];

    private static async Task CreateAndFillAsync(string connectionString, string table, int from, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(
            $"CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY, device text, temp real, pressure double precision, n integer, ok boolean, ts timestamptz)", connection))
            await create.ExecuteNonQueryAsync();
        await InsertAsync(connection, table, from, count);
    }

    private static async Task InsertAsync(NpgsqlConnection connection, string table, int from, int count)
    {
        // Plain SQL generate_series: rows made by the server, not by the code under test. Every 50th row has nulls.
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO {table}
            SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE 'dev-' || (i % 11) END, (i % 97) / 4.0, i * 1.5, i % 1000, i % 3 = 0,
                   timestamptz '2024-01-01 00:00:00+00' + i * interval '1 millisecond'
            FROM generate_series({from}, {from + count - 1}) AS i
            """, connection);
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<Dictionary<long, string>> ReadBackAsync(string connectionString, string table)
    {
        // Reference reader: Npgsql's ordinary data reader, formatted like CollectingSink formats rows.
        var rows = new Dictionary<long, string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id, device, temp, pressure, n, ok, ts FROM {table}", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            string V(int i, Func<string> f) => reader.IsDBNull(i) ? "null" : f();
            var id = reader.GetInt64(0);
            rows[id] = string.Join("|",
                "id=" + id.ToString(CultureInfo.InvariantCulture),
                "device=" + V(1, () => reader.GetString(1)),
                "temp=" + V(2, () => reader.GetFloat(2).ToString("R", CultureInfo.InvariantCulture)),
                "pressure=" + V(3, () => reader.GetDouble(3).ToString("R", CultureInfo.InvariantCulture)),
                "n=" + V(4, () => reader.GetInt32(4).ToString(CultureInfo.InvariantCulture)),
                "ok=" + V(5, () => reader.GetBoolean(5) ? "true" : "false"),
                "ts=" + V(6, () => ((reader.GetDateTime(6).Ticks - DateTime.UnixEpoch.Ticks) / 10).ToString(CultureInfo.InvariantCulture)));
        }
        return rows;
    }

    private static PostgresSourceOptions SourceOptions(string connectionString, string table, PostgresReadMode mode) => new()
    {
        Connection = new PostgresConnectionOptions { ConnectionString = connectionString },
        Table = table,
        Schema = s_schema,
        CursorColumn = "id",
        Mode = mode,
        PollInterval = TimeSpan.FromMilliseconds(100),
        EventTimeColumn = "ts",
        MaxRetryDelay = TimeSpan.FromMilliseconds(500),
    };

    [SkippableFact]
    public async Task Snapshot_by_binary_copy_equals_what_a_plain_reader_sees_and_ends_a_bounded_pipeline()
    {
        var pg = TestServices.Postgres();
        var table = NewTable();
        await CreateAndFillAsync(pg, table, 1, 10_000);
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(new PostgresSource(SourceOptions(pg, table, PostgresReadMode.Snapshot)), new PipelineOptions { Name = "snap" })
            .To(sink).Build();
        await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var expected = await ReadBackAsync(pg, table);
        Assert.Equal(10_000, sink.Count);
        Assert.Equal(expected.Values.Order(), sink.Rows.Select(r => r.Values).Order());
        // Rows arrive in cursor order, with the cursor as the row offset.
        Assert.Equal(Enumerable.Range(1, 10_000).Select(i => (long)i), sink.Rows.Select(r => r.Offset));
    }

    [SkippableFact]
    public async Task A_timestamp_cursor_that_ties_gets_rows_inserted_later_with_the_last_value_into_Parquet()
    {
        var pg = TestServices.Postgres();
        var table = NewTable();
        await CreateAndFillAsync(pg, table, 1, 1_000);
        var output = Path.Combine(Path.GetTempPath(), "streamml-pg-parquet", Guid.NewGuid().ToString("N"));
        var options = SourceOptions(pg, table, PostgresReadMode.Snapshot);
        options.CursorColumn = "ts";
        options.CursorIsUnique = false;
        async Task RunAsync()
        {
            await using var pipeline = Pipeline.From(new PostgresSource(options), new PipelineOptions { Name = table })
                .To(new StreamMl.Connectors.Parquet.ParquetSink(new StreamMl.Connectors.Parquet.ParquetSinkOptions { Directory = output })).Build();
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        await RunAsync();
        // Rows committed later with the same timestamp as the last row read: the restart re-reads the ties to find them.
        await using (var connection = new NpgsqlConnection(pg))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand($"INSERT INTO {table} (id, ts) SELECT i, (SELECT max(ts) FROM {table}) FROM generate_series(1001, 1005) AS i", connection);
            await insert.ExecuteNonQueryAsync();
        }
        await RunAsync();

        await using var duck = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        await duck.OpenAsync();
        await using var count = duck.CreateCommand();
        count.CommandText = $"SELECT count(DISTINCT id) FROM read_parquet('{Path.Combine(output, "*.parquet")}')";
        Assert.Equal(1_005L, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    [SkippableFact]
    public async Task Incremental_reads_pick_up_new_rows_and_a_restart_resumes_after_the_durable_checkpoint()
    {
        var pg = TestServices.Postgres();
        var table = NewTable();
        await CreateAndFillAsync(pg, table, 1, 3000);
        var sink = new CollectingSink();
        var source = new PostgresSource(SourceOptions(pg, table, PostgresReadMode.SnapshotThenIncremental));
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { Name = "incr", BatchCapacity = 1024 }).To(sink).Build())
        {
            await pipeline.StartAsync();
            await sink.WaitForAsync(3000, TimeSpan.FromSeconds(30));
            await using (var connection = new NpgsqlConnection(pg))
            {
                await connection.OpenAsync();
                await InsertAsync(connection, table, 3001, 500);
            }
            await sink.WaitForAsync(3500, TimeSpan.FromSeconds(30));
            await pipeline.StopAsync();
        }
        Assert.Equal(3500, sink.Count);
        Assert.Equal(3500L, source.Checkpoint);

        // Rows added while the pipeline was down; a new pipeline with the same checkpoint reads exactly those.
        await using (var connection = new NpgsqlConnection(pg))
        {
            await connection.OpenAsync();
            await InsertAsync(connection, table, 3501, 250);
        }
        var after = new CollectingSink();
        await using (var again = Pipeline.From(new PostgresSource(SourceOptions(pg, table, PostgresReadMode.Snapshot)), new PipelineOptions { Name = "again" }).To(after).Build())
            await again.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(3501, 250).Select(i => (long)i), after.Rows.Select(r => r.Offset));
        var expected = await ReadBackAsync(pg, table);
        Assert.Equal(expected.Values.Order(), sink.Rows.Concat(after.Rows).Select(r => r.Values).Order());
    }

    [SkippableFact]
    public async Task Sink_copies_and_upserts_by_key_so_a_replayed_batch_leaves_one_row_per_key_with_the_last_values()
    {
        var pg = TestServices.Postgres();
        var table = NewTable();
        var schema = new Schema(new Field("device", ColumnType.String, false), new Field("hour", ColumnType.Int32, false),
            new Field("mean", ColumnType.Float64), new Field("seen", ColumnType.Timestamp), new Field("alarm", ColumnType.Bool));
        object?[] Row(int i, double mean) => [$"d{i % 40}", i % 25, mean, 1_700_000_000_000_000L + i, i % 7 == 0 ? null : i % 2 == 0];
        var first = Enumerable.Range(0, 1000).Select(i => Row(i, i * 0.5)).ToList();
        // The replay repeats every key with new values, and repeats some keys twice in one batch (the last one wins).
        var second = Enumerable.Range(0, 1000).Select(i => Row(i, -i)).Concat(Enumerable.Range(0, 100).Select(i => Row(i, 1e6 + i))).ToList();

        foreach (var rows in new[] { first, second })
        {
            var sink = new PostgresSink(new PostgresSinkOptions
            {
                Connection = new PostgresConnectionOptions { ConnectionString = pg },
                Table = table,
                KeyColumns = ["device", "hour"],
            });
            await using var pipeline = Pipeline.From(new ArraySource(schema, rows), new PipelineOptions { Name = "upsert", BatchCapacity = 2048 }).To(sink).Build();
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        // Reference: the last value per key, computed with LINQ over the same input.
        var expected = first.Concat(second).GroupBy(r => ((string)r[0]!, (int)r[1]!)).ToDictionary(g => g.Key, g => g.Last());
        await using var connection = new NpgsqlConnection(pg);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT device, hour, mean, seen, alarm FROM {table}", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            count++;
            var want = expected[(reader.GetString(0), reader.GetInt32(1))];
            Assert.Equal((double)want[2]!, reader.GetDouble(2));
            Assert.Equal((long)want[3]!, (reader.GetDateTime(3).Ticks - DateTime.UnixEpoch.Ticks) / 10);
            Assert.Equal(want[4], reader.IsDBNull(4) ? null : reader.GetBoolean(4));
        }
        Assert.Equal(expected.Count, count);
    }

    [SkippableFact]
    public async Task PostgreSQL_restarting_mid_stream_is_retried_and_no_row_is_lost()
    {
        var pg = TestServices.Postgres();
        var control = TestServices.PostgresControl();
        var table = NewTable();
        await CreateAndFillAsync(pg, table, 1, 2000);
        var sinkTable = table + "_out";
        var collect = new CollectingSink();
        var sink = new PostgresSink(new PostgresSinkOptions
        {
            Connection = new PostgresConnectionOptions { ConnectionString = pg },
            Table = sinkTable,
            KeyColumns = ["id"],
            RetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryAttempts = 30,
        });
        var source = new PostgresSource(SourceOptions(pg, table, PostgresReadMode.SnapshotThenIncremental));
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "restart", BatchCapacity = 256 }).To(collect, sink).Build();
        await pipeline.StartAsync();
        await collect.WaitForAsync(2000, TimeSpan.FromSeconds(30));

        RestartServer(control);
        await using (var connection = await OpenWithRetryAsync(pg))
            await InsertAsync(connection, table, 2001, 1000);
        await collect.WaitForAsync(3000, TimeSpan.FromSeconds(60));
        var until = DateTime.UtcNow.AddSeconds(30);
        while (sink.RowsWritten < 3000 && DateTime.UtcNow < until) await Task.Delay(50);
        await pipeline.StopAsync();

        Assert.Equal(3000, collect.Rows.Select(r => r.Offset).Distinct().Count());
        await using var check = await OpenWithRetryAsync(pg);
        await using var count = new NpgsqlCommand($"SELECT count(*), count(DISTINCT id) FROM {sinkTable}", check);
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(3000L, reader.GetInt64(0));
        Assert.Equal(3000L, reader.GetInt64(1));
        output.WriteLine($"source reconnects: {source.Reconnects}");
        Assert.True(source.Reconnects >= 1);
    }

    private static void RestartServer(string control)
    {
        var parts = control.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var asRoot = Environment.UserName == "root";
        var file = asRoot ? "runuser" : parts[0];
        var args = (asRoot ? new[] { "-u", "postgres", "--" }.Concat(parts) : parts.Skip(1)).Concat(["-m", "fast", "-w", "restart"]).ToList();
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        process.WaitForExit(60_000);
        if (process.ExitCode != 0) throw new InvalidOperationException("pg_ctl restart failed: " + process.StandardError.ReadToEnd());
        // Pooled connections of the other tests died with the server.
        NpgsqlConnection.ClearAllPools();
    }

    private static async Task<NpgsqlConnection> OpenWithRetryAsync(string pg)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var connection = new NpgsqlConnection(pg + ";Pooling=false");
                await connection.OpenAsync();
                return connection;
            }
            catch (NpgsqlException) when (attempt < 50)
            {
                await Task.Delay(200);
            }
        }
    }

    [SkippableFact]
    public async Task Password_from_environment_never_reaches_logs_and_ssl_mode_is_applied()
    {
        var pg = TestServices.Postgres();
        const string variable = "STREAMML_TEST_PG_PASSWORD";
        const string password = "pg-Secret-99173";
        Environment.SetEnvironmentVariable(variable, password);
        var table = NewTable();
        await CreateAndFillAsync(pg, table, 1, 10);
        var logs = new LogCapture();
        var options = SourceOptions(pg, table, PostgresReadMode.Snapshot);
        options.Connection.Password = Secret.FromEnvironment(variable); // the test server trusts local connections; the password is still sent
        options.LoggerFactory = logs;
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(new PostgresSource(options), new PipelineOptions { Name = "secret" }).To(sink).Build())
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(10, sink.Count);

        // SslMode=Require against a server without TLS must fail, naming TLS, and still not show the password.
        var tls = SourceOptions(pg, table, PostgresReadMode.Snapshot);
        tls.Connection.Password = Secret.FromEnvironment(variable);
        tls.Connection.SslMode = SslMode.Require;
        tls.LoggerFactory = logs;
        // Driven directly: a pipeline whose source fails to open is the engine's business, not this test's.
        var failing = new PostgresSource(tls);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => failing.OpenAsync(new SourceContext("tls", new CollectingDeadLetterSink()), default).AsTask());
        await failing.DisposeAsync();
        output.WriteLine(error.Message);
        Assert.Contains("SSL", error.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(password, error.ToString());
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(password, logs.All);
    }
}
