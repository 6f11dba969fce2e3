using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Settings of a <see cref="PostgresSink"/>.</summary>
public sealed class PostgresSinkOptions
{
    /// <summary>Connection, password and TLS. Required.</summary>
    public PostgresConnectionOptions Connection { get; set; } = new();

    /// <summary>Target table, optionally schema-qualified. Required.</summary>
    public string Table { get; set; } = "";

    /// <summary>Columns to write (same names in the table). Default: every column of the batch.</summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>Key columns: a row whose key exists updates it (upsert), so replays after a restart do not duplicate.
    /// Empty (default): rows are appended.</summary>
    public IReadOnlyList<string> KeyColumns { get; set; } = [];

    /// <summary>Create the table when missing (columns typed from the batch, primary key on <see cref="KeyColumns"/>).
    /// Default true.</summary>
    public bool CreateTable { get; set; } = true;

    /// <summary>Attempts per batch when the server is unreachable or restarting; then the pipeline's error policy
    /// decides. Default 8 (about 20 s with the default delays).</summary>
    public int MaxRetryAttempts { get; set; } = 8;

    /// <summary>First retry delay; grows exponentially with jitter. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Logs; secrets redacted. Default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>Writes batches to a PostgreSQL table by binary COPY, one transaction per batch: straight into the table
/// when appending, or into a temporary staging table and then <c>INSERT ... ON CONFLICT (key) DO UPDATE</c> when
/// upserting (the last row of a key in a batch wins). A batch is durable when its transaction commits. Transient
/// failures (server restart, broken connection) are retried with exponential backoff and jitter.</summary>
public sealed class PostgresSink : IBatchSink
{
    private readonly PostgresSinkOptions _options;
    private readonly ConnectorLog _log;
    private readonly ResiliencePipeline _retry;
    private NpgsqlDataSource? _dataSource;
    private NpgsqlConnection? _connection;
    private Field[] _fields = [];
    private int[] _columns = [];
    private string _copyTarget = "";
    private string? _merge;
    private string _staging = "";
    private string _createStaging = "";
    // Per connection, made once and reused by every batch: the staging table exists for the session, and the merge
    // command is prepared once. Both are dropped with the connection (ResetConnection).
    private NpgsqlCommand? _mergeCommand;
    private ColumnBatch? _writing;
    private long _rowsWritten;

    /// <summary>Creates the sink; nothing connects until <see cref="OpenAsync"/>.</summary>
    public PostgresSink(PostgresSinkOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Table)) throw new ConnectorConfigurationException("PostgresSink needs a Table");
        _options = options;
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Postgres", $"postgres sink {options.Connection.Describe()} {options.Table}",
            new Redaction(options.Connection.SecretValues()));
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(Sql.IsTransient),
            MaxRetryAttempts = options.MaxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryDelay,
            MaxDelay = TimeSpan.FromSeconds(5),
            OnRetry = args =>
            {
                _log.Warning($"write failed ({args.Outcome.Exception?.Message}); retry {args.AttemptNumber + 1} in {args.RetryDelay.TotalMilliseconds:F0} ms");
                ResetConnection();
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    /// <inheritdoc/>
    public string Name => $"postgres:{_options.Table}";

    /// <summary>Rows committed so far.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <inheritdoc/>
    public async ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        var names = _options.Columns ?? context.Schema.Select(f => f.Name).ToList();
        _columns = names.Select(n => context.Schema.Require(n)).ToArray();
        _fields = _columns.Select(i => context.Schema[i]).ToArray();
        foreach (var key in _options.KeyColumns)
            if (!names.Contains(key)) throw new ConnectorConfigurationException($"key column '{key}' is not among the written columns ({string.Join(", ", names)})");
        _dataSource = _options.Connection.BuildDataSource($"streamml-{context.PipelineName}");
        var table = Sql.Quote(_options.Table);
        var columnList = string.Join(", ", _fields.Select(f => Sql.Quote(f.Name)));
        if (_options.CreateTable)
        {
            var definitions = _fields.Select(f => $"{Sql.Quote(f.Name)} {Sql.TypeOf(f.Type)}").ToList();
            if (_options.KeyColumns.Count > 0) definitions.Add($"PRIMARY KEY ({string.Join(", ", _options.KeyColumns.Select(Sql.Quote))})");
            try
            {
                await _retry.ExecuteAsync(async ct =>
                {
                    await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                    await using var create = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {table} ({string.Join(", ", definitions)})", connection);
                    await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                throw new StreamMlException(
                    $"postgres sink {_options.Connection.Describe()} table {_options.Table}: could not create the table, retries exhausted: {ex.Message}", ex);
            }
        }
        if (_options.KeyColumns.Count == 0)
        {
            _copyTarget = $"COPY {table} ({columnList}) FROM STDIN (FORMAT BINARY)";
        }
        else
        {
            _staging = "streamml_stage_" + Guid.NewGuid().ToString("N")[..12];
            _copyTarget = $"COPY {_staging} ({columnList}) FROM STDIN (FORMAT BINARY)";
            var keys = string.Join(", ", _options.KeyColumns.Select(Sql.Quote));
            var updates = _fields.Where(f => !_options.KeyColumns.Contains(f.Name)).Select(f => $"{Sql.Quote(f.Name)} = EXCLUDED.{Sql.Quote(f.Name)}").ToList();
            var onConflict = updates.Count > 0 ? $"DO UPDATE SET {string.Join(", ", updates)}" : "DO NOTHING";
            _merge = $"INSERT INTO {table} ({columnList}) SELECT DISTINCT ON ({keys}) {columnList} FROM {_staging} ORDER BY {keys}, streamml_row DESC ON CONFLICT ({keys}) {onConflict}";
            var stagingColumns = string.Join(", ", _fields.Select(f => $"{Sql.Quote(f.Name)} {Sql.TypeOf(f.Type)}"));
            _createStaging = $"CREATE TEMP TABLE IF NOT EXISTS {_staging} ({stagingColumns}, streamml_row bigserial) ON COMMIT DELETE ROWS";
        }
        _log.Info($"writing {string.Join(", ", names)} to {_options.Table}{(_merge is null ? "" : $" (upsert by {string.Join(", ", _options.KeyColumns)})")}");
    }

    /// <inheritdoc/>
    public void Write(ColumnBatch batch, long sequence)
    {
        if (batch.Selection.Count == 0) return;
        // The batch travels in a field rather than a closure, so a retried write allocates no delegate per batch.
        _writing = batch;
        try
        {
            var written = _retry.Execute(static sink => sink.WriteOnce(sink._writing!), this);
            Interlocked.Add(ref _rowsWritten, written);
        }
        finally
        {
            _writing = null;
        }
    }

    private int WriteOnce(ColumnBatch batch)
    {
        var connection = _connection ?? OpenConnection();
        using var transaction = connection.BeginTransaction();
        var rows = 0;
        using (var importer = connection.BeginBinaryImport(_copyTarget))
        {
            for (var row = 0; row < batch.Length; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                importer.StartRow();
                for (var f = 0; f < _fields.Length; f++) WriteValue(importer, batch[_columns[f]], row);
                rows++;
            }
            importer.Complete();
        }
        if (_mergeCommand is { } merge)
        {
            merge.Transaction = transaction;
            merge.ExecuteNonQuery();
        }
        transaction.Commit();
        return rows;
    }

    private NpgsqlConnection OpenConnection()
    {
        var connection = _dataSource!.OpenConnection();
        try
        {
            if (_merge is not null)
            {
                using (var stage = new NpgsqlCommand(_createStaging, connection)) stage.ExecuteNonQuery();
                _mergeCommand = new NpgsqlCommand(_merge, connection);
                _mergeCommand.Prepare();
            }
        }
        catch
        {
            _mergeCommand?.Dispose();
            _mergeCommand = null;
            connection.Dispose();
            throw;
        }
        return _connection = connection;
    }

    private static void WriteValue(NpgsqlBinaryImporter importer, Column column, int row)
    {
        if (!column.IsValid(row))
        {
            importer.WriteNull();
            return;
        }
        switch (column.Type)
        {
            case ColumnType.Float32: importer.Write(column.Values<float>()[row], NpgsqlTypes.NpgsqlDbType.Real); break;
            case ColumnType.Float64: importer.Write(column.Values<double>()[row], NpgsqlTypes.NpgsqlDbType.Double); break;
            case ColumnType.Int32: importer.Write(column.Values<int>()[row], NpgsqlTypes.NpgsqlDbType.Integer); break;
            case ColumnType.Int64: importer.Write(column.Values<long>()[row], NpgsqlTypes.NpgsqlDbType.Bigint); break;
            case ColumnType.Bool: importer.Write(column.Values<byte>()[row] != 0, NpgsqlTypes.NpgsqlDbType.Boolean); break;
            case ColumnType.Timestamp: importer.Write(Sql.FromMicros(column.Values<long>()[row]), NpgsqlTypes.NpgsqlDbType.TimestampTz); break;
            case ColumnType.String: importer.Write(column.Dictionary![column.Values<int>()[row]], NpgsqlTypes.NpgsqlDbType.Text); break;
        }
    }

    private void ResetConnection()
    {
        _mergeCommand?.Dispose();
        _mergeCommand = null;
        if (_connection is null) return;
        NpgsqlConnection.ClearPool(_connection);
        try
        {
            _connection.Dispose();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
        {
            // already broken
        }
        _connection = null;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        ResetConnection();
        if (_dataSource is not null) await _dataSource.DisposeAsync().ConfigureAwait(false);
        _dataSource = null;
    }
}
