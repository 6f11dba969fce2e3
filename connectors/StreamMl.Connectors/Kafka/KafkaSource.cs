using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Reads Kafka topics as a member of a consumer group. Offsets are committed only for rows every sink has made
/// durable (the pipeline's checkpoint calls <see cref="Commit"/>), also when partitions are revoked during a rebalance:
/// the source first waits for rows already handed on to become durable, commits them, and drops rows of revoked
/// partitions that were not handed on yet (the new owner reads them). Undecodable messages go to the pipeline's
/// dead-letter sink and, when configured, to a dead-letter topic. At-least-once; run more processes with the same
/// group to scale out.</summary>
public sealed class KafkaSource : IBatchSource
{
    private const int PartitionBits = 20;

    private readonly KafkaSourceOptions _options;
    private readonly Field[] _payloadFields;
    private readonly MessageDecoder _decoder;
    private readonly ConnectorLog _log;
    private readonly Dictionary<string, int> _topicIndex = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    // Per partition key: next offset whose rows were all made durable (set by Commit), committed to Kafka, and handed on.
    private readonly Dictionary<int, long> _durable = [];
    private readonly Dictionary<int, long> _committed = [];
    private readonly Dictionary<int, long> _handedOut = [];
    private readonly HashSet<int> _assigned = [];
    private readonly HashSet<int> _revokedDuringFill = [];
    // When the consumer subscribed while no partition was assigned, or 0; the wait is explained once (WaitingForGroupAfter).
    private long _unassignedSince;
    private readonly List<(int Partition, long Offset)> _deadLettered = [];
    private readonly List<TopicPartitionOffset> _commitList = [];
    private IConsumer<int, int>? _consumer;
    private IProducer<byte[], byte[]>? _deadLetterProducer;
    private IDeadLetterSink? _deadLetters;
    private SourceContext? _context;
    private string _pipeline = "";
    private ColumnBatch? _batch;
    private Schema? _boundSchema;
    private int _row;
    private int _keyColumn = -1;
    private int _eventTimeColumn = -1;
    private int[] _headerColumns = [];
    private string[] _headerNames = [];
    private string? _decodeError;
    private byte[]? _failedPayload;
    private byte[]? _arrowPayload;
    private byte[] _keyBytes = new byte[64];
    private int _keyLength = -1;
    private ArrowPayload? _pendingArrow;
    private (int Partition, long Offset, long Time) _pendingArrowAt;
    // The pending Arrow message as it arrived, for the dead letters when its schema turns out not to match.
    private (byte[] Payload, byte[]? Key) _pendingArrowMessage;
    private long _maxEventTime = long.MinValue;
    private bool _dirty;
    private bool _closing;
    private int _deadLetterUnflushed;

    /// <summary>Creates the source; nothing connects until <see cref="OpenAsync"/>.</summary>
    public KafkaSource(KafkaSourceOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.BootstrapServers)) throw new ConnectorConfigurationException("KafkaSource needs BootstrapServers");
        if (options.Topics.Count == 0) throw new ConnectorConfigurationException("KafkaSource needs at least one topic in Topics");
        if (string.IsNullOrWhiteSpace(options.GroupId)) throw new ConnectorConfigurationException("KafkaSource needs a GroupId");
        _options = options;
        _payloadFields = [.. options.Schema];
        var fields = new List<Field>(options.Schema);
        if (options.KeyColumn is { } key && !options.Schema.Contains(key)) fields.Add(new Field(key, ColumnType.String));
        foreach (var column in options.HeaderColumns.Values)
            if (!fields.Any(f => f.Name == column)) fields.Add(new Field(column, ColumnType.String));
        Schema = new Schema(fields);
        if (options.EventTimeColumn is { } et) options.Schema.Require(et, ColumnType.Timestamp);
        _decoder = new MessageDecoder(_payloadFields, options.Codec);
        for (var i = 0; i < options.Topics.Count; i++) _topicIndex[options.Topics[i]] = i;
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Kafka", $"kafka source {string.Join(",", options.Topics)}",
            new Redaction(options.Security.SecretValues()));
    }

    /// <inheritdoc/>
    public string Name => $"kafka:{string.Join(",", _options.Topics)}";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>Partitions currently assigned to this member, as "topic[partition]".</summary>
    public IReadOnlyList<string> Assignment
    {
        get
        {
            lock (_gate) return [.. _assigned.Order().Select(p => $"{_options.Topics[p >> PartitionBits]}[{p & ((1 << PartitionBits) - 1)}]")];
        }
    }

    /// <summary>Offsets this member committed to Kafka so far, by "topic[partition]" (the next offset to read).</summary>
    public IReadOnlyDictionary<string, long> CommittedOffsets
    {
        get
        {
            lock (_gate) return _committed.ToDictionary(kv => PartitionName(kv.Key), kv => kv.Value);
        }
    }

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _pipeline = context.PipelineName;
        _deadLetters = context.DeadLetters;
        _context = context;
        var config = new ConsumerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            GroupId = _options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = _options.AutoOffsetReset == "latest" ? AutoOffsetReset.Latest : AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
            // Marshalling the topic name allocates a string per message; with one topic every message is from it.
            ConsumeResultFields = (SingleTopic ? "timestamp" : "topic,timestamp") + (_options.HeaderColumns.Count > 0 ? ",headers" : ""),
            ClientId = $"streamml-{_pipeline}",
        };
        _options.Security.ApplyTo(config);
        KafkaDeliverySettings.Check(_options.Config, KafkaDeliverySettings.Source, $"Kafka source {string.Join(",", _options.Topics)}");
        foreach (var (key, value) in _options.Config) config.Set(key, value);
        _consumer = new ConsumerBuilder<int, int>(config)
            .SetKeyDeserializer(new KeyReader(this))
            .SetValueDeserializer(new ValueReader(this))
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetLogHandler((_, m) => _log.Library((LogLevel)m.LevelAs(LogLevelType.MicrosoftExtensionsLogging), $"{m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => _log.Warning($"client error {e.Code}: {e.Reason}"))
            .Build();
        if (_options.DeadLetterTopic is not null)
        {
            var producerConfig = new ProducerConfig
            {
                BootstrapServers = _options.BootstrapServers,
                EnableIdempotence = true,
                Acks = Acks.All,
                ClientId = $"streamml-{_pipeline}-dlq",
            };
            _options.Security.ApplyTo(producerConfig);
            foreach (var (key, value) in _options.Config) producerConfig.Set(key, value);
            _deadLetterProducer = new ProducerBuilder<byte[], byte[]>(producerConfig)
                .SetLogHandler((_, m) => _log.Library((LogLevel)m.LevelAs(LogLevelType.MicrosoftExtensionsLogging), $"{m.Facility}: {m.Message}"))
                .Build();
        }
        _consumer.Subscribe(_options.Topics);
        _unassignedSince = Stopwatch.GetTimestamp();
        _log.Info($"subscribed to {string.Join(", ", _options.Topics)} as group {_options.GroupId} on {_options.BootstrapServers}");
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var consumer = _consumer ?? throw new InvalidOperationException("KafkaSource was not opened");
        if (!ReferenceEquals(_boundSchema, batch.Schema)) Bind(batch.Schema);
        CommitDurable();
        _batch = batch;
        _row = 0;
        _deadLettered.Clear();
        _revokedDuringFill.Clear();
        var capacity = batch.Capacity;
        if (_pendingArrow is not null) ContinueArrow();
        var started = Stopwatch.GetTimestamp();
        long firstRowAt = 0;
        while (_row < capacity && !cancellationToken.IsCancellationRequested)
        {
            var waited = Stopwatch.GetElapsedTime(firstRowAt == 0 ? started : firstRowAt);
            var budget = (firstRowAt == 0 && _row == 0 ? _options.PollTimeout : _options.MaxBatchWait) - waited;
            if (budget <= TimeSpan.Zero) break;
            ConsumeResult<int, int>? result;
            try
            {
                // A poll waits for the broker when nothing is new: idle time, not busy time, in the stage counters.
                using (_context?.WaitingForInput() ?? default) result = consumer.Consume(budget);
            }
            catch (ConsumeException ex)
            {
                // Broker-side errors (unknown topic before auto-creation, transport) are retried by librdkafka.
                _log.Warning($"consume failed ({ex.Error.Code}): {ex.Error.Reason}; retrying");
                continue;
            }
            if (result is null || result.IsPartitionEOF) continue;
            if (firstRowAt == 0) firstRowAt = Stopwatch.GetTimestamp();
            Accept(result);
            if (_pendingArrow is not null) break; // the batch is full
        }
        if (_revokedDuringFill.Count > 0) DropRevokedRows(batch);
        if (_unassignedSince != 0) ExplainWaitForGroup();
        batch.Length = _row;
        lock (_gate)
        {
            foreach (var range in batch.Positions.Ranges)
                _handedOut[range.Partition] = Math.Max(_handedOut.GetValueOrDefault(range.Partition, 0), range.End);
        }
        if (_maxEventTime != long.MinValue) batch.Watermark = _maxEventTime - (long)(_options.WatermarkDelay.Ticks / 10);
        _batch = null;
        return ValueTask.FromResult(true);
    }

    private void Bind(Schema schema)
    {
        _decoder.Bind(schema);
        _keyColumn = _options.KeyColumn is { } key ? schema.Require(key, ColumnType.String) : -1;
        _eventTimeColumn = _options.EventTimeColumn is { } et ? schema.Require(et, ColumnType.Timestamp) : -1;
        _headerColumns = _options.HeaderColumns.Values.Select(c => schema.Require(c, ColumnType.String)).ToArray();
        _headerNames = [.. _options.HeaderColumns.Keys];
        _boundSchema = schema;
    }

    private int PartitionKey(string topic, int partition) => _topicIndex[topic] << PartitionBits | partition;

    private bool SingleTopic => _options.Topics.Count == 1 && !_options.Topics[0].StartsWith('^');

    private void Accept(ConsumeResult<int, int> result)
    {
        var batch = _batch!;
        var partition = result.Topic is null ? result.Partition.Value : PartitionKey(result.Topic, result.Partition.Value);
        var offset = result.Offset.Value;
        var time = result.Message.Timestamp.UnixTimestampMs * 1000;
        if (_decoder.IsMultiRow)
        {
            var payload = _arrowPayload;
            _arrowPayload = null;
            var arrow = payload is null ? null : _decoder.OpenArrow(payload, out _decodeError);
            if (arrow is null)
            {
                DeadLetter(partition, offset, payload ?? [], CurrentKey(), _decodeError ?? "empty payload");
                return;
            }
            _pendingArrow = arrow;
            _pendingArrowAt = (partition, offset, time);
            _pendingArrowMessage = (payload!, CurrentKey());
            ContinueArrow();
            return;
        }
        if (result.Message.Value == 0)
        {
            DeadLetter(partition, offset, _failedPayload ?? [], CurrentKey(), _decodeError ?? "undecodable payload");
            return;
        }
        var row = _row;
        if (_keyColumn >= 0) WriteKey(batch, row);
        if (_headerColumns.Length > 0) WriteHeaders(result.Message.Headers, batch, row);
        if (_eventTimeColumn >= 0 && batch[_eventTimeColumn].IsValid(row)) time = batch[_eventTimeColumn].Values<long>()[row];
        FinishRow(batch, partition, offset, time);
        batch.Positions.Add(partition, offset, offset + 1);
    }

    private void FinishRow(ColumnBatch batch, int partition, long offset, long time)
    {
        var row = _row++;
        batch.EventTimesBuffer[row] = time;
        batch.RowOffsetsBuffer[row] = offset;
        batch.RowPartitionsBuffer[row] = partition;
        if (time > _maxEventTime) _maxEventTime = time;
    }

    private void ContinueArrow()
    {
        var batch = _batch!;
        var arrow = _pendingArrow!;
        var (partition, offset, time) = _pendingArrowAt;
        int copied;
        try
        {
            copied = _decoder.CopyArrowRows(arrow, batch, _row, batch.Capacity - _row);
        }
        catch (SchemaMismatchException ex)
        {
            arrow.Dispose();
            _pendingArrow = null;
            DeadLetter(partition, offset, _pendingArrowMessage.Payload, _pendingArrowMessage.Key, ex.Message);
            _pendingArrowMessage = default;
            return;
        }
        for (var i = 0; i < copied; i++)
        {
            var t = _eventTimeColumn >= 0 && batch[_eventTimeColumn].IsValid(_row) ? batch[_eventTimeColumn].Values<long>()[_row] : time;
            FinishRow(batch, partition, offset, t);
        }
        if (arrow.Done)
        {
            arrow.Dispose();
            _pendingArrow = null;
            _pendingArrowMessage = default;
            batch.Positions.Add(partition, offset, offset + 1);
        }
        else
        {
            // Part of the message is in this batch: committing this batch must not skip the message.
            batch.Positions.Add(partition, offset, offset);
        }
    }

    private void WriteKey(ColumnBatch batch, int row)
    {
        var column = batch[_keyColumn];
        if (_keyLength < 0)
        {
            column.SetNull(row);
            return;
        }
        column.SetValid(row);
        Span<char> chars = stackalloc char[256];
        var bytes = _keyBytes.AsSpan(0, _keyLength);
        if (Encoding.UTF8.GetMaxCharCount(bytes.Length) <= chars.Length)
            column.Values<int>()[row] = column.Dictionary!.GetOrAdd(chars[..Encoding.UTF8.GetChars(bytes, chars)]);
        else
            column.Values<int>()[row] = column.Dictionary!.GetOrAdd(Encoding.UTF8.GetString(bytes));
    }

    private void WriteHeaders(Headers? headers, ColumnBatch batch, int row)
    {
        for (var h = 0; h < _headerColumns.Length; h++)
        {
            var column = batch[_headerColumns[h]];
            byte[]? value = null;
            if (headers is not null)
            {
                var name = _headerNames[h];
                for (var i = headers.Count - 1; i >= 0; i--)
                {
                    var header = headers[i];
                    if (string.Equals(header.Key, name, StringComparison.Ordinal))
                    {
                        value = header.GetValueBytes();
                        break;
                    }
                }
            }
            if (value is null) column.SetNull(row);
            else
            {
                column.SetValid(row);
                column.Values<int>()[row] = column.Dictionary!.GetOrAdd(Encoding.UTF8.GetString(value));
            }
        }
    }

    private byte[]? CurrentKey() => _keyLength >= 0 ? _keyBytes.AsSpan(0, _keyLength).ToArray() : null;

    private void DeadLetter(int partition, long offset, byte[] payload, byte[]? key, string error)
    {
        var raw = _decoder.Format == MessageFormat.ArrowIpc || _decoder.Format == MessageFormat.Protobuf
            ? Convert.ToBase64String(payload) : Encoding.UTF8.GetString(payload);
        WriteDeadLetter(partition, offset, raw, error);
        if (_deadLetterProducer is not null)
        {
            var headers = new Headers
            {
                { "streamml.error", Encoding.UTF8.GetBytes(error) },
                { "streamml.source", Encoding.UTF8.GetBytes(Describe(partition, offset)) },
            };
            ProduceDeadLetter(new Message<byte[], byte[]> { Key = key!, Value = payload, Headers = headers });
        }
        // The message is consumed: its offset is committed with the batch, after the dead letter is flushed.
        _batch!.Positions.Add(partition, offset, offset + 1);
        _deadLettered.Add((partition, offset));
    }

    private void WriteDeadLetter(int partition, long offset, string raw, string error)
    {
        _deadLetters?.Write(new DeadLetter(_pipeline, Name, "decode", error, Describe(partition, offset), partition, offset, raw));
    }

    private void ProduceDeadLetter(Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                _deadLetterProducer!.Produce(_options.DeadLetterTopic, message);
                Interlocked.Increment(ref _deadLetterUnflushed);
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _deadLetterProducer!.Poll(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    // Rows of partitions revoked while this batch was being filled were never handed on: drop them so that only the
    // partitions' new owner delivers them.
    private void DropRevokedRows(ColumnBatch batch)
    {
        var write = 0;
        for (var read = 0; read < _row; read++)
        {
            if (_revokedDuringFill.Contains(batch.RowPartitionsBuffer[read])) continue;
            if (write != read)
            {
                for (var c = 0; c < batch.Schema.Count; c++) batch[c].CopyRow(batch[c], read, write);
                batch.EventTimesBuffer[write] = batch.EventTimesBuffer[read];
                batch.RowOffsetsBuffer[write] = batch.RowOffsetsBuffer[read];
                batch.RowPartitionsBuffer[write] = batch.RowPartitionsBuffer[read];
            }
            write++;
        }
        var kept = new List<SourceRange>();
        foreach (var range in batch.Positions.Ranges)
            if (!_revokedDuringFill.Contains(range.Partition)) kept.Add(range);
        batch.Positions.Clear();
        foreach (var range in kept) batch.Positions.Add(range.Partition, range.Start, range.End);
        if (_pendingArrow is not null && _revokedDuringFill.Contains(_pendingArrowAt.Partition))
        {
            _pendingArrow.Dispose();
            _pendingArrow = null;
            _pendingArrowMessage = default;
        }
        _row = write;
    }

    /// <inheritdoc/>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        lock (_gate)
        {
            foreach (var range in ranges)
            {
                if (range.End > _durable.GetValueOrDefault(range.Partition, -1))
                {
                    _durable[range.Partition] = range.End;
                    _dirty = true;
                }
            }
            Monitor.PulseAll(_gate);
        }
    }

    // Runs on the consumer thread (librdkafka handles are used from the thread that polls them). False when a commit
    // failed and stays pending.
    private bool CommitDurable(IReadOnlyCollection<int>? only = null)
    {
        var consumer = _consumer;
        if (consumer is null) return true;
        lock (_gate)
        {
            if (!_dirty && only is null) return true;
            _commitList.Clear();
            foreach (var (partition, offset) in _durable)
            {
                if (only is not null ? !only.Contains(partition) : !_assigned.Contains(partition)) continue;
                if (offset <= _committed.GetValueOrDefault(partition, -1)) continue;
                _commitList.Add(new TopicPartitionOffset(_options.Topics[partition >> PartitionBits],
                    new Partition(partition & ((1 << PartitionBits) - 1)), new Offset(offset)));
            }
            _dirty = false;
        }
        if (_commitList.Count == 0) return true;
        if (_deadLetterProducer is not null && Volatile.Read(ref _deadLetterUnflushed) > 0)
        {
            // A dead-lettered message's offset is committed only once the dead letter itself is stored.
            if (_deadLetterProducer.Flush(TimeSpan.FromSeconds(30)) > 0)
            {
                _log.Warning("dead-letter topic did not acknowledge in 30 s; offsets are committed later");
                lock (_gate) _dirty = true;
                return false;
            }
            Interlocked.Exchange(ref _deadLetterUnflushed, 0);
        }
        try
        {
            consumer.Commit(_commitList);
            lock (_gate)
            {
                foreach (var tpo in _commitList)
                {
                    var key = PartitionKey(tpo.Topic, tpo.Partition.Value);
                    _committed[key] = Math.Max(_committed.GetValueOrDefault(key, -1), tpo.Offset.Value);
                }
            }
        }
        catch (KafkaException ex)
        {
            _log.Warning($"offset commit failed ({ex.Error.Code}: {ex.Error.Reason}); will retry");
            lock (_gate) _dirty = true;
            return false;
        }
        return true;
    }

    /// <summary>How long a consumer may go without partitions after subscribing before it says why. Default 3 s.</summary>
    internal static TimeSpan WaitingForGroupAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A restarted member of a group whose previous process was killed gets no partitions until the group
    /// coordinator gives up on the old member (its session timeout, 45 s by default): say so once, instead of a silent rows=0.</summary>
    private void ExplainWaitForGroup()
    {
        bool assigned;
        lock (_gate) assigned = _assigned.Count > 0;
        if (assigned)
        {
            _unassignedSince = 0;
            return;
        }
        if (Stopwatch.GetElapsedTime(_unassignedSince) < WaitingForGroupAfter) return;
        _unassignedSince = 0;
        var session = _options.Config.TryGetValue("session.timeout.ms", out var ms) && int.TryParse(ms, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value / 1000.0 : 45;
        _log.Info($"waiting for the group {_options.GroupId} to assign partitions: rows=0 until then. If a previous member was killed "
            + $"without leaving the group, its session ({session:0.#} s, session.timeout.ms) must expire first");
    }

    private void OnAssigned(IConsumer<int, int> consumer, List<TopicPartition> partitions)
    {
        lock (_gate)
        {
            foreach (var tp in partitions)
            {
                var key = PartitionKey(tp.Topic, tp.Partition.Value);
                _assigned.Add(key);
                // A partition that comes back resumes from the group's committed offset: forget older local state.
                _durable.Remove(key);
                _committed.Remove(key);
                _handedOut.Remove(key);
            }
        }
        _log.Info($"assigned {string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))}");
    }

    private void OnRevoked(IConsumer<int, int> consumer, List<TopicPartitionOffset> partitions)
    {
        var keys = partitions.Select(p => PartitionKey(p.Topic, p.Partition.Value)).ToList();
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.RevocationTimeout.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            // Wait for rows already in the pipeline to become durable so their offsets can be committed now.
            while (!_closing && keys.Any(k => _durable.GetValueOrDefault(k, 0) < _handedOut.GetValueOrDefault(k, 0)))
            {
                var left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    _log.Warning($"rows of revoked partitions were not durable within {_options.RevocationTimeout}; the new owner re-reads them");
                    break;
                }
                Monitor.Wait(_gate, TimeSpan.FromTicks(Math.Min(left * TimeSpan.TicksPerSecond / Stopwatch.Frequency, TimeSpan.TicksPerSecond)));
            }
        }
        CommitDurable(keys);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                _assigned.Remove(key);
                _revokedDuringFill.Add(key);
            }
        }
        _log.Info($"revoked {string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))}");
    }

    private void OnLost(IConsumer<int, int> consumer, List<TopicPartitionOffset> partitions)
    {
        // Lost (not revoked): another member may already own them, so nothing may be committed.
        lock (_gate)
        {
            foreach (var p in partitions)
            {
                var key = PartitionKey(p.Topic, p.Partition.Value);
                _assigned.Remove(key);
                _revokedDuringFill.Add(key);
            }
        }
        _log.Warning($"lost {string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))}");
    }

    private string PartitionName(int partition) =>
        $"{_options.Topics[partition >> PartitionBits]}[{partition & ((1 << PartitionBits) - 1)}]";

    /// <summary>True: a position (partition and offset) names the same record in every run.</summary>
    public bool PositionsAreStable => true;

    /// <inheritdoc/>
    public string Describe(int partition, long offset) =>
        $"{_options.Topics[partition >> PartitionBits]}[{partition & ((1 << PartitionBits) - 1)}]@{offset}";

    private static readonly ResiliencePipeline<bool> s_finalCommit = new ResiliencePipelineBuilder<bool>()
        .AddRetry(new RetryStrategyOptions<bool>
        {
            ShouldHandle = new PredicateBuilder<bool>().HandleResult(committed => !committed),
            MaxRetryAttempts = 5,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
        })
        .Build();

    /// <summary>Commits what is durable and leaves the group, so the remaining members take the partitions over at once.</summary>
    public ValueTask DisposeAsync()
    {
        _closing = true;
        lock (_gate) Monitor.PulseAll(_gate);
        if (_consumer is { } consumer)
        {
            try
            {
                // The last commit has no next batch to retry with: a coordinator that is busy (a rebalance, a loaded
                // broker) gets a few more attempts before the group is left, so a restart does not re-read what was done.
                s_finalCommit.Execute(() => CommitDurable());
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                _log.Warning($"closing the consumer failed: {ex.Error.Reason}");
            }
            consumer.Dispose();
            _consumer = null;
        }
        if (_deadLetterProducer is { } producer)
        {
            producer.Flush(TimeSpan.FromSeconds(10));
            producer.Dispose();
            _deadLetterProducer = null;
        }
        _pendingArrow?.Dispose();
        _pendingArrow = null;
        return ValueTask.CompletedTask;
    }

    // Decodes the key straight from librdkafka's buffer into a reusable array (no per-message allocation).
    private sealed class KeyReader(KafkaSource source) : IDeserializer<int>
    {
        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            if (isNull)
            {
                source._keyLength = -1;
                return 0;
            }
            if (data.Length > source._keyBytes.Length) source._keyBytes = new byte[Math.Max(data.Length, source._keyBytes.Length * 2)];
            data.CopyTo(source._keyBytes);
            source._keyLength = data.Length;
            return 0;
        }
    }

    // Decodes the value straight into the next row of the batch being filled; returns 1 when the row is good.
    private sealed class ValueReader(KafkaSource source) : IDeserializer<int>
    {
        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            source._decodeError = null;
            source._failedPayload = null;
            if (source._decoder.IsMultiRow)
            {
                source._arrowPayload = isNull ? null : data.ToArray();
                return 1;
            }
            if (isNull)
            {
                source._decodeError = "the message has no value (a tombstone)";
                source._failedPayload = [];
                return 0;
            }
            string? error;
            try
            {
                if (source._decoder.TryDecodeRow(data, source._batch!, source._row, out error)) return 1;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // An exception out of a deserializer reaches Consume as a ConsumeException after librdkafka has moved
                // past the message, which would lose it: it becomes a dead letter like any undecodable payload.
                error = $"the {source._decoder.Format} decoder failed: {ex.Message}";
            }
            source._decodeError = error;
            source._failedPayload = data.ToArray();
            return 0;
        }
    }
}
