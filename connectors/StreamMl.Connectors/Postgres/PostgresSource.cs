using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>What a <see cref="PostgresSource"/> does after its snapshot.</summary>
public enum PostgresReadMode
{
    /// <summary>Read the table once (from the checkpoint) and end: a bounded pipeline, for training and backfills.</summary>
    Snapshot,
    /// <summary>Read the table, then poll for rows with a higher cursor value, forever. The default.</summary>
    SnapshotThenIncremental,
}

/// <summary>Settings of a <see cref="PostgresSource"/>.</summary>
public sealed class PostgresSourceOptions
{
    /// <summary>Connection, password and TLS. Required.</summary>
    public PostgresConnectionOptions Connection { get; set; } = new();

    /// <summary>Table (or view) to read, optionally schema-qualified. Required.</summary>
    public string Table { get; set; } = "";

    /// <summary>Columns to read: each is cast in SQL to the PostgreSQL type of its column type. Required; must include
    /// <see cref="CursorColumn"/>.</summary>
    public Schema Schema { get; set; } = Schema.Empty;

    /// <summary>A monotonic column (Int64 such as an identity id, or Timestamp such as updated_at). Rows are read in its
    /// order and its value is the checkpoint position. Required.</summary>
    public string CursorColumn { get; set; } = "";

    /// <summary>True (default) when no two rows share a cursor value (ids): a restart resumes after the checkpoint.
    /// False for timestamps that may tie: a restart resumes at the checkpoint value, re-reading its ties.</summary>
    public bool CursorIsUnique { get; set; } = true;

    /// <summary>Optional SQL condition ANDed to every read (trusted configuration, not user input).</summary>
    public string? Filter { get; set; }

    /// <summary>Snapshot only, or snapshot then incremental. Default incremental.</summary>
    public PostgresReadMode Mode { get; set; } = PostgresReadMode.SnapshotThenIncremental;

    /// <summary>How often to look for new rows once caught up. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Table that stores the checkpoint (created when missing), or null to keep no checkpoint in the database.
    /// Default <c>streamml_checkpoints</c>.</summary>
    public string? CheckpointTable { get; set; } = "streamml_checkpoints";

    /// <summary>Name of this reader's checkpoint row. Default: the table name.</summary>
    public string? CheckpointName { get; set; }

    /// <summary>Timestamp column whose value is the event time; null uses the read time.</summary>
    public string? EventTimeColumn { get; set; }

    /// <summary>Longest wait between reconnect attempts after PostgreSQL went away. Default 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Logs; secrets redacted. Default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>Reads a PostgreSQL table by binary COPY in the order of a monotonic cursor column: first everything after
/// the stored checkpoint (the snapshot), then, in incremental mode, every new row as it appears. The highest cursor value
/// whose row every sink made durable is the checkpoint, stored in a table of the same database, so a restarted pipeline
/// continues where the durable output ends. A lost connection (server restart) is retried with backoff and the read
/// resumes after the last row handed on.</summary>
public sealed class PostgresSource : IBatchSource
{
    private readonly PostgresSourceOptions _options;
    private readonly Field[] _fields;
    private readonly ConnectorLog _log;
    private readonly string _checkpointName;
    private readonly object _commitGate = new();
    private NpgsqlDataSource? _dataSource;
    private NpgsqlConnection? _connection;
    private NpgsqlBinaryExporter? _exporter;
    private Schema? _boundSchema;
    private int[] _columns = [];
    private int _cursorField;
    private int _eventTimeColumn = -1;
    private long? _resumeAfter;   // cursor value of the last row handed on
    private long? _checkpoint;    // last durable cursor value stored
    private long _lastPollStart;
    private bool _snapshotDone;
    private long _pendingCheckpoint = long.MinValue;
    private long _reconnects;

    /// <summary>Creates the source; nothing connects until <see cref="OpenAsync"/>.</summary>
    public PostgresSource(PostgresSourceOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Table)) throw new ConnectorConfigurationException("PostgresSource needs a Table");
        if (string.IsNullOrWhiteSpace(options.CursorColumn)) throw new ConnectorConfigurationException("PostgresSource needs a CursorColumn (an id or updated_at column)");
        _options = options;
        _fields = [.. options.Schema];
        _cursorField = options.Schema.IndexOf(options.CursorColumn);
        if (_cursorField < 0)
            throw new ConnectorConfigurationException($"cursor column '{options.CursorColumn}' must be one of the Schema's columns ({options.Schema})");
        if (_fields[_cursorField].Type is not (ColumnType.Int64 or ColumnType.Int32 or ColumnType.Timestamp))
            throw new ConnectorConfigurationException($"cursor column '{options.CursorColumn}' must be int32, int64 or timestamp");
        if (options.EventTimeColumn is { } et) options.Schema.Require(et, ColumnType.Timestamp);
        _checkpointName = options.CheckpointName ?? options.Table;
        Schema = options.Schema;
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Postgres", $"postgres source {options.Connection.Describe()} {options.Table}",
            new Redaction(options.Connection.SecretValues()));
    }

    /// <inheritdoc/>
    public string Name => $"postgres:{_options.Table}";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>The stored checkpoint (cursor value of the last durable row), or null before the first.</summary>
    public long? Checkpoint
    {
        get
        {
            lock (_commitGate) return _checkpoint;
        }
    }

    /// <summary>How many times the connection was re-established after a failure.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <inheritdoc/>
    public async ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _dataSource = _options.Connection.BuildDataSource($"streamml-{context.PipelineName}");
        if (_options.CheckpointTable is { } table)
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (var create = new NpgsqlCommand(
                $"CREATE TABLE IF NOT EXISTS {Sql.Quote(table)} (name text PRIMARY KEY, position bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now())", connection))
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var read = new NpgsqlCommand($"SELECT position FROM {Sql.Quote(table)} WHERE name = $1", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = _checkpointName });
            if (await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long position)
            {
                _checkpoint = position;
                _resumeAfter = position;
            }
        }
        _log.Info($"reading {_options.Table} by {_options.CursorColumn} {(_resumeAfter is { } r ? $"after checkpoint {r}" : "from the start")}");
    }

    private string CopyCommand()
    {
        var columns = string.Join(", ", _fields.Select(f => $"{Sql.Quote(f.Name)}::{Sql.TypeOf(f.Type)}"));
        var conditions = new List<string>();
        if (_resumeAfter is { } after)
        {
            var op = _options.CursorIsUnique ? ">" : ">=";
            conditions.Add($"{Sql.Quote(_options.CursorColumn)} {op} {CursorLiteral(after)}");
        }
        if (_options.Filter is { } filter) conditions.Add($"({filter})");
        var where = conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "";
        return $"COPY (SELECT {columns} FROM {Sql.Quote(_options.Table)}{where} ORDER BY {Sql.Quote(_options.CursorColumn)}) TO STDOUT (FORMAT BINARY)";
    }

    private string CursorLiteral(long value) => _fields[_cursorField].Type == ColumnType.Timestamp
        ? $"'{Sql.FromMicros(value).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)}'::timestamptz"
        : value.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_boundSchema, batch.Schema)) Bind(batch.Schema);
        TryStoreCheckpoint();
        var row = 0;
        var delay = TimeSpan.FromMilliseconds(100);
        while (row < batch.Capacity && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_exporter is null)
                {
                    if (_snapshotDone)
                    {
                        if (_options.Mode == PostgresReadMode.Snapshot) break;
                        // Caught up: the next read waits for the poll interval (the batch so far is handed on first).
                        if (row > 0) break;
                        var wait = _options.PollInterval - Stopwatch.GetElapsedTime(_lastPollStart);
                        if (wait > TimeSpan.Zero)
                        {
                            await Task.Delay(wait < TimeSpan.FromMilliseconds(100) ? wait : TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                            batch.Length = 0;
                            return true;
                        }
                    }
                    await StartCopyAsync(cancellationToken).ConfigureAwait(false);
                }
                var columns = _exporter!.StartRow();
                if (columns < 0)
                {
                    await CloseCopyAsync().ConfigureAwait(false);
                    _snapshotDone = true;
                    continue;
                }
                ReadRow(batch, row);
                row++;
                delay = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception ex) when (Sql.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                // The row being read is dropped; the next read resumes after the last row in this batch.
                await ResetConnectionAsync().ConfigureAwait(false);
                _log.Warning($"lost the connection ({ex.Message}); retrying in {delay.TotalMilliseconds:F0} ms after {(_resumeAfter is { } r ? r.ToString(CultureInfo.InvariantCulture) : "the start")}");
                Interlocked.Increment(ref _reconnects);
                if (row > 0) break;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }
        batch.Length = row;
        if (row > 0)
        {
            var cursors = batch.RowOffsets;
            batch.Positions.Add(0, cursors[0], cursors[row - 1] + 1);
        }
        var exhausted = _options.Mode == PostgresReadMode.Snapshot && _snapshotDone && _exporter is null;
        return !exhausted;
    }

    private void Bind(Schema schema)
    {
        _columns = _fields.Select(f => schema.Require(f.Name, f.Type)).ToArray();
        _eventTimeColumn = _options.EventTimeColumn is { } et ? schema.Require(et, ColumnType.Timestamp) : -1;
        _boundSchema = schema;
    }

    private async Task StartCopyAsync(CancellationToken cancellationToken)
    {
        _lastPollStart = Stopwatch.GetTimestamp();
        _connection ??= await _dataSource!.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        _exporter = await _connection.BeginBinaryExportAsync(CopyCommand(), cancellationToken).ConfigureAwait(false);
    }

    private async Task CloseCopyAsync()
    {
        if (_exporter is not null) await _exporter.DisposeAsync().ConfigureAwait(false);
        _exporter = null;
    }

    private async Task ResetConnectionAsync()
    {
        try
        {
            if (_exporter is not null) await _exporter.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
        {
            // the connection is gone anyway
        }
        _exporter = null;
        if (_connection is not null)
        {
            // A broken physical connection must not go back to the pool.
            NpgsqlConnection.ClearPool(_connection);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        _connection = null;
    }

    private void ReadRow(ColumnBatch batch, int row)
    {
        var exporter = _exporter!;
        var now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        long cursor = 0;
        for (var f = 0; f < _fields.Length; f++)
        {
            var column = batch[_columns[f]];
            if (exporter.IsNull)
            {
                exporter.Skip();
                if (f == _cursorField)
                    throw new BadInputException($"cursor column '{_options.CursorColumn}' is null; a cursor column must be NOT NULL", $"{_options.Table} after {_resumeAfter}");
                column.SetNull(row);
                continue;
            }
            column.SetValid(row);
            switch (column.Type)
            {
                case ColumnType.Float32: column.Values<float>()[row] = exporter.Read<float>(); break;
                case ColumnType.Float64: column.Values<double>()[row] = exporter.Read<double>(); break;
                case ColumnType.Int32:
                    var i = exporter.Read<int>();
                    column.Values<int>()[row] = i;
                    if (f == _cursorField) cursor = i;
                    break;
                case ColumnType.Int64:
                    var l = exporter.Read<long>();
                    column.Values<long>()[row] = l;
                    if (f == _cursorField) cursor = l;
                    break;
                case ColumnType.Bool: column.Values<byte>()[row] = exporter.Read<bool>() ? (byte)1 : (byte)0; break;
                case ColumnType.Timestamp:
                    var t = Sql.ToMicros(exporter.Read<DateTime>());
                    column.Values<long>()[row] = t;
                    if (f == _cursorField) cursor = t;
                    break;
                case ColumnType.String: column.Values<int>()[row] = column.Dictionary!.GetOrAdd(exporter.Read<string>()); break;
            }
        }
        batch.EventTimesBuffer[row] = _eventTimeColumn >= 0 && batch[_eventTimeColumn].IsValid(row) ? batch[_eventTimeColumn].Values<long>()[row] : now;
        batch.RowOffsetsBuffer[row] = cursor;
        batch.RowPartitionsBuffer[row] = 0;
        _resumeAfter = cursor;
    }

    /// <summary>Stores the highest durable cursor value as the checkpoint (in the checkpoint table when configured).</summary>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        var upTo = long.MinValue;
        foreach (var range in ranges) upTo = Math.Max(upTo, range.End - 1);
        lock (_commitGate)
        {
            if (upTo > _pendingCheckpoint) _pendingCheckpoint = upTo;
        }
        TryStoreCheckpoint();
    }

    private void TryStoreCheckpoint()
    {
        lock (_commitGate)
        {
            if (_pendingCheckpoint == long.MinValue || _pendingCheckpoint == _checkpoint) return;
            var position = _pendingCheckpoint;
            if (_options.CheckpointTable is { } table && _dataSource is not null)
            {
                try
                {
                    using var connection = _dataSource.OpenConnection();
                    using var upsert = new NpgsqlCommand(
                        $"INSERT INTO {Sql.Quote(table)} (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = GREATEST({Sql.Quote(table)}.position, EXCLUDED.position), updated = now()",
                        connection);
                    upsert.Parameters.Add(new NpgsqlParameter { Value = _checkpointName });
                    upsert.Parameters.Add(new NpgsqlParameter { Value = position });
                    upsert.ExecuteNonQuery();
                }
                catch (Exception ex) when (Sql.IsTransient(ex) || ex is NpgsqlException)
                {
                    // Kept pending: stored with the next batch or commit once the server is back.
                    _log.Warning($"storing checkpoint {position} failed ({ex.Message}); will retry");
                    return;
                }
            }
            _checkpoint = position;
        }
    }

    /// <summary>True when the cursor is unique: a position (cursor value) then names the same record in every run. A
    /// cursor that may tie (<see cref="PostgresSourceOptions.CursorIsUnique"/> false) names several rows, some of them
    /// inserted after others with the same value were written, so a sink must not skip a row because its value is
    /// already in its output (the ties re-read at the checkpoint are there to catch such rows).</summary>
    public bool PositionsAreStable => _options.CursorIsUnique;

    /// <inheritdoc/>
    public string Describe(int partition, long offset) => $"{_options.Table} {_options.CursorColumn}={offset}";

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        TryStoreCheckpoint();
        await ResetConnectionAsync().ConfigureAwait(false);
        if (_dataSource is not null) await _dataSource.DisposeAsync().ConfigureAwait(false);
        _dataSource = null;
    }
}
