using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Subscribes to MQTT topics (QoS 1) and turns each message into a row: payload columns, the device id from a
/// topic level, the event time from the payload. Messages are acknowledged to the broker only after every sink has
/// made their rows durable (MQTTnet manual acknowledgement); with a persistent session the broker re-delivers what
/// was not acknowledged after a crash or reconnect, so nothing is lost (at-least-once). A lost connection is
/// re-established with exponential backoff and jitter. Memory is bounded by <see cref="MqttSourceOptions.MaxInFlight"/>.</summary>
public sealed class MqttSource : IBatchSource
{
    private readonly MqttSourceOptions _options;
    private readonly MessageDecoder _decoder;
    private readonly ConnectorLog _log;
    private readonly Channel<Received> _inbox;
    private readonly Queue<(long Offset, MqttApplicationMessageReceivedEventArgs Args, int Epoch)> _unacknowledged = new();
    private readonly object _ackGate = new();
    private Task _lastAcknowledgement = Task.CompletedTask;
    private readonly CancellationTokenSource _closing = new();
    private readonly MqttClientFactory _factory = new();
    private IMqttClient? _client;
    private MqttClientOptions? _clientOptions;
    private IDeadLetterSink? _deadLetters;
    private SourceContext? _context;
    private string _pipeline = "";
    private Schema? _boundSchema;
    private int _deviceColumn = -1;
    private int _topicColumn = -1;
    private int _eventTimeColumn = -1;
    private long _nextOffset;
    private int _epoch;
    private int _reconnecting;
    private long _acknowledged;
    private long _reconnects;
    private long _maxEventTime = long.MinValue;

    private readonly record struct Received(byte[] Payload, int Length, string Topic, MqttApplicationMessageReceivedEventArgs Args, int Epoch);

    /// <summary>Creates the source; nothing connects until <see cref="OpenAsync"/>.</summary>
    public MqttSource(MqttSourceOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Host)) throw new ConnectorConfigurationException("MqttSource needs a Host");
        if (options.Topics.Count == 0) throw new ConnectorConfigurationException("MqttSource needs at least one topic filter in Topics");
        if (string.IsNullOrWhiteSpace(options.ClientId)) throw new ConnectorConfigurationException("MqttSource needs a stable ClientId (the broker keeps the session under it)");
        if (options.MaxInFlight is < 1 or > 65535) throw new ConnectorConfigurationException("MqttSource MaxInFlight must be between 1 and 65535");
        if (options.Codec.Format == MessageFormat.ArrowIpc) throw new ConnectorConfigurationException("MqttSource reads JSON, CSV or protobuf payloads, one row per message");
        _options = options;
        _decoder = new MessageDecoder([.. options.Schema], options.Codec);
        var fields = new List<Field>(options.Schema);
        foreach (var extra in new[] { options.DeviceIdColumn, options.TopicColumn })
            if (extra is not null && !fields.Any(f => f.Name == extra)) fields.Add(new Field(extra, ColumnType.String));
        Schema = new Schema(fields);
        if (options.EventTimeColumn is { } et) options.Schema.Require(et, ColumnType.Timestamp);
        _inbox = Channel.CreateBounded<Received>(new BoundedChannelOptions(options.MaxInFlight)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Mqtt", $"mqtt source {options.Host}:{options.Port}",
            new Redaction(options.Security.SecretValues()));
    }

    /// <inheritdoc/>
    public string Name => $"mqtt:{string.Join(",", _options.Topics)}";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>Messages acknowledged to the broker (after their rows became durable).</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>The client id the broker keeps this source's session under.</summary>
    public string ClientId => _options.ClientId;

    /// <summary>Messages received and not yet acknowledged (never above <see cref="MqttSourceOptions.MaxInFlight"/> plus
    /// the rows of batches in the pipeline).</summary>
    public int Unacknowledged
    {
        get
        {
            lock (_ackGate) return _unacknowledged.Count + _inbox.Reader.Count;
        }
    }

    /// <summary>How many times the connection was re-established.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>True while connected to the broker.</summary>
    public bool IsConnected => _client?.IsConnected == true;

    /// <inheritdoc/>
    public async ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _pipeline = context.PipelineName;
        _deadLetters = context.DeadLetters;
        _context = context;
        _clientOptions = BuildClientOptions();
        _client = _factory.CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
        var delay = _options.ReconnectMinDelay;
        while (true)
        {
            try
            {
                await ConnectAndSubscribeAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not ConnectorConfigurationException)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                    throw new StreamMlException($"cannot connect to the MQTT broker {_options.Host}:{_options.Port} within {_options.ConnectTimeout}: {_log.Redaction.Apply(ex.Message)}", ex);
                _log.Warning($"connecting failed ({ex.Message}); retrying in {delay.TotalMilliseconds:F0} ms");
                await Task.Delay(Jitter(delay), cancellationToken).ConfigureAwait(false);
                delay = Next(delay);
            }
        }
    }

    private MqttClientOptions BuildClientOptions()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(!_options.PersistentSession)
            .WithReceiveMaximum((ushort)_options.MaxInFlight)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (_options.PersistentSession) builder.WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds);
        var security = _options.Security;
        if (security.Username is not null) builder.WithCredentials(security.Username, security.Password?.Reveal() ?? "");
        if (security.UseTls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls();
                tls.WithTargetHost(_options.Host);
                if (security.AllowUntrustedCertificates) tls.WithAllowUntrustedCertificates().WithIgnoreCertificateChainErrors().WithCertificateValidationHandler(_ => true);
                if (security.CaCertificatePath is { } ca)
                {
                    var chain = new X509Certificate2Collection();
                    chain.ImportFromPemFile(ca);
                    tls.WithTrustChain(chain);
                }
            });
        }
        return builder.Build();
    }

    private async Task ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        // A new epoch before connecting: the broker re-sends a resumed session's messages right after CONNACK, and
        // they must carry this connection's epoch or their acknowledgements would be dropped as stale.
        Interlocked.Increment(ref _epoch);
        var result = await _client!.ConnectAsync(_clientOptions!, cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
            throw new StreamMlException($"MQTT broker refused the connection: {result.ResultCode} {result.ReasonString}");
        if (!result.IsSessionPresent || !_options.PersistentSession)
        {
            var subscribe = _factory.CreateSubscribeOptionsBuilder();
            foreach (var topic in _options.Topics)
                subscribe.WithTopicFilter(f => f.WithTopic(topic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
            var subscribed = await _client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
            foreach (var item in subscribed.Items)
                if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
                    throw new StreamMlException($"MQTT broker refused the subscription to '{item.TopicFilter.Topic}': {item.ResultCode}");
        }
        _log.Info($"connected as {_options.ClientId} (session {(result.IsSessionPresent ? "resumed" : "new")}), subscribed to {string.Join(", ", _options.Topics)}");
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        // Acknowledged only when the rows are durable (Commit); the broker re-delivers otherwise.
        e.AutoAcknowledge = false;
        var payload = e.ApplicationMessage.Payload;
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        payload.CopyTo(buffer);
        try
        {
            await _inbox.Writer.WriteAsync(new Received(buffer, length, e.ApplicationMessage.Topic, e, Volatile.Read(ref _epoch)), _closing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (_closing.IsCancellationRequested || !e.ClientWasConnected) return Task.CompletedTask;
        if (Interlocked.Exchange(ref _reconnecting, 1) == 1) return Task.CompletedTask;
        _log.Warning($"disconnected ({e.Reason}{(e.Exception is null ? "" : ": " + e.Exception.Message)}); reconnecting with backoff");
        _ = Task.Run(ReconnectLoopAsync);
        return Task.CompletedTask;
    }

    private async Task ReconnectLoopAsync()
    {
        var delay = _options.ReconnectMinDelay;
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Jitter(delay), _closing.Token).ConfigureAwait(false);
                    await ConnectAndSubscribeAsync(_closing.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref _reconnects);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _log.Warning($"reconnect failed ({ex.Message}); next try in {delay.TotalMilliseconds:F0} ms");
                    delay = Next(delay);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // closing
        }
        finally
        {
            Volatile.Write(ref _reconnecting, 0);
        }
    }

    private TimeSpan Next(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));

    // Full jitter on the upper half: spreads reconnects of many clients after a broker restart.
    private static TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromTicks(delay.Ticks / 2 + Random.Shared.NextInt64(Math.Max(1, delay.Ticks / 2)));

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_boundSchema, batch.Schema)) Bind(batch.Schema);
        var row = 0;
        var reader = _inbox.Reader;
        var start = Stopwatch.GetTimestamp();
        long firstAt = 0;
        while (row < batch.Capacity && !cancellationToken.IsCancellationRequested)
        {
            if (!reader.TryRead(out var message))
            {
                var waited = Stopwatch.GetElapsedTime(firstAt == 0 ? start : firstAt);
                var budget = (firstAt == 0 ? _options.PollTimeout : _options.MaxBatchWait) - waited;
                if (budget <= TimeSpan.Zero) break;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(budget);
                try
                {
                    // Waiting for the broker is idle time, not busy time, in the stage counters.
                    using (_context?.WaitingForInput() ?? default)
                        if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false)) break;
                }
                catch (OperationCanceledException)
                {
                    // budget over (or stopping): hand on what we have
                }
                continue;
            }
            if (firstAt == 0) firstAt = Stopwatch.GetTimestamp();
            var offset = _nextOffset++;
            lock (_ackGate) _unacknowledged.Enqueue((offset, message.Args, message.Epoch));
            try
            {
                if (_decoder.TryDecodeRow(message.Payload.AsSpan(0, message.Length), batch, row, out var error))
                {
                    FinishRow(batch, row, message.Topic, offset);
                    row++;
                }
                else
                {
                    var raw = System.Text.Encoding.UTF8.GetString(message.Payload, 0, Math.Min(message.Length, 4096));
                    _deadLetters?.Write(new DeadLetter(_pipeline, Name, "decode", error ?? "undecodable payload", $"{message.Topic} #{offset}", 0, offset, raw));
                }
                batch.Positions.Add(0, offset, offset + 1);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(message.Payload);
            }
        }
        batch.Length = row;
        if (_maxEventTime != long.MinValue) batch.Watermark = _maxEventTime - _options.WatermarkDelay.Ticks / 10;
        return true;
    }

    private void Bind(Schema schema)
    {
        _decoder.Bind(schema);
        _deviceColumn = _options.DeviceIdColumn is { } d ? schema.Require(d, ColumnType.String) : -1;
        _topicColumn = _options.TopicColumn is { } t ? schema.Require(t, ColumnType.String) : -1;
        _eventTimeColumn = _options.EventTimeColumn is { } e ? schema.Require(e, ColumnType.Timestamp) : -1;
        _boundSchema = schema;
    }

    private void FinishRow(ColumnBatch batch, int row, string topic, long offset)
    {
        if (_topicColumn >= 0)
        {
            var column = batch[_topicColumn];
            column.SetValid(row);
            column.Values<int>()[row] = column.Dictionary!.GetOrAdd(topic);
        }
        if (_deviceColumn >= 0)
        {
            var column = batch[_deviceColumn];
            var level = TopicLevel(topic, _options.DeviceIdTopicLevel);
            if (level.IsEmpty) column.SetNull(row);
            else
            {
                column.SetValid(row);
                column.Values<int>()[row] = column.Dictionary!.GetOrAdd(level);
            }
        }
        var time = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        if (_eventTimeColumn >= 0 && batch[_eventTimeColumn].IsValid(row)) time = batch[_eventTimeColumn].Values<long>()[row];
        if (time > _maxEventTime) _maxEventTime = time;
        batch.EventTimesBuffer[row] = time;
        batch.RowOffsetsBuffer[row] = offset;
        batch.RowPartitionsBuffer[row] = 0;
    }

    private ReadOnlySpan<char> TopicLevel(string topic, int level)
    {
        var span = topic.AsSpan();
        for (var i = 0; i < level; i++)
        {
            var slash = span.IndexOf('/');
            if (slash < 0) return default;
            span = span[(slash + 1)..];
        }
        var end = span.IndexOf('/');
        return end < 0 ? span : span[..end];
    }

    /// <summary>Acknowledges, in order, every message whose rows are durable. Acknowledgements of messages received on
    /// an earlier connection are dropped: the broker re-delivers those on the new connection.</summary>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        var upTo = long.MinValue;
        foreach (var range in ranges) upTo = Math.Max(upTo, range.End);
        var epoch = Volatile.Read(ref _epoch);
        lock (_ackGate)
        {
            while (_unacknowledged.Count > 0 && _unacknowledged.Peek().Offset < upTo)
            {
                var (_, args, messageEpoch) = _unacknowledged.Dequeue();
                if (messageEpoch != epoch || _client?.IsConnected != true)
                    continue;
                var ack = args.AcknowledgeAsync(CancellationToken.None);
                Interlocked.Increment(ref _acknowledged);
                if (!ack.IsCompletedSuccessfully)
                {
                    // Acknowledgements go out in order, so the last one pending completes after every earlier one.
                    _lastAcknowledgement = ack;
                    ack.ContinueWith(t => _log.Warning($"acknowledgement failed: {t.Exception?.GetBaseException().Message}"),
                        CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }
            }
        }
    }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) => $"{Name} message #{offset}";

    /// <summary>Acknowledgements of committed messages must reach the broker before the disconnect, or it re-delivers
    /// rows whose positions were already committed. A ping answered by the broker proves it has read everything sent
    /// before it on this connection (closing right after the last acknowledgement lost some of them in tests).</summary>
    private async Task ConfirmAcknowledgementsAsync(IMqttClient client)
    {
        Task pending;
        lock (_ackGate) pending = _lastAcknowledgement;
        try
        {
            await pending.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _log.Warning($"acknowledgements not confirmed before disconnecting ({ex.Message}); the broker may re-deliver them");
        }
    }

    /// <summary>Disconnects without unsubscribing, so the broker keeps the session and re-delivers what was not acknowledged.</summary>
    public async ValueTask DisposeAsync()
    {
        _closing.Cancel();
        _inbox.Writer.TryComplete();
        if (_client is { } client)
        {
            try
            {
                if (client.IsConnected) await ConfirmAcknowledgementsAsync(client).ConfigureAwait(false);
                if (client.IsConnected)
                    await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _log.Warning($"disconnect failed: {ex.Message}");
            }
            client.Dispose();
            _client = null;
        }
        while (_inbox.Reader.TryRead(out var message)) ArrayPool<byte>.Shared.Return(message.Payload);
        _closing.Dispose();
    }
}
