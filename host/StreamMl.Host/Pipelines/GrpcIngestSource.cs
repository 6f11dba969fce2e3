using System.Threading.Channels;
using StreamMl.Engine;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>The source of a pipeline fed by the Ingest RPC. Request handlers decode and check payloads (so malformed
/// input is answered with INVALID_ARGUMENT before it is accepted) and queue them as chunks: Arrow columns of exactly the
/// input types stay in the message's buffers and are copied once, straight into the ring batch
/// (<see cref="ArrowDirectCopy"/>); protobuf rows and Arrow columns that need converting are decoded into staging
/// batches of the input schema first. The pipeline's producer copies chunks into ring batches, merging small messages. The queue is bounded, so a pipeline that
/// falls behind slows its clients down through gRPC flow control instead of buffering without limit. A stop closes the
/// queue first (<see cref="CloseForStop"/>): later messages are refused with <see cref="IngestClosedException"/>, and
/// the pipeline reads every queued row before its source ends, so no acknowledged row is dropped.</summary>
internal sealed class GrpcIngestSource : IBatchSource
{
    private readonly Channel<IngestChunk> _queue;
    private readonly BatchPool _staging;
    private readonly Stack<IngestChunk> _chunks = new();
    private readonly string? _eventTimeColumn;
    private readonly IngestCheckpoint? _checkpoint;
    private int[] _map = [];
    private int[] _codes = new int[64];
    private Schema? _mappedFor;
    private IngestChunk? _current;
    private SourceContext? _context;
    private int _currentRow;
    private long _nextOffset;
    private long _rowsQueued;
    private long _rowsRead;
    private long _maxEventTime = long.MinValue;

    /// <summary>A source named <paramref name="name"/> of <paramref name="schema"/>, queueing at most
    /// <paramref name="queueBatches"/> staging batches of <paramref name="batchCapacity"/> rows; event times from
    /// <paramref name="eventTimeColumn"/> or the arrival time. With a <paramref name="checkpoint"/>, positions are stable
    /// across restarts (a partition per producer) and committed producer sequences survive a crash.</summary>
    public GrpcIngestSource(string name, Schema schema, int batchCapacity, int queueBatches, string? eventTimeColumn, IngestCheckpoint? checkpoint = null)
    {
        Name = name;
        _checkpoint = checkpoint;
        Schema = schema;
        _eventTimeColumn = eventTimeColumn;
        if (eventTimeColumn is not null) schema.Require(eventTimeColumn, ColumnType.Timestamp);
        _staging = new BatchPool(schema, batchCapacity, maxRetained: queueBatches + 2);
        _queue = Channel.CreateBounded<IngestChunk>(new BoundedChannelOptions(queueBatches) { SingleReader = true });
    }

    public string Name { get; }

    public Schema Schema { get; }

    /// <summary>Rows accepted by Ingest and not yet read by the pipeline.</summary>
    public long Lag => Interlocked.Read(ref _rowsQueued) - Interlocked.Read(ref _rowsRead);

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _context = context;
        return ValueTask.CompletedTask;
    }

    /// <summary>Refuses new messages from now on; the rows already queued are still read, then the source ends.</summary>
    public void CloseForStop() => _queue.Writer.TryComplete();

    /// <summary>The source's checkpoint, or null when it keeps producer state in memory only.</summary>
    public IngestCheckpoint? Checkpoint => _checkpoint;

    /// <summary>Positions name the same rows in every run when the source has a checkpoint.</summary>
    public bool PositionsAreStable => _checkpoint is not null;

    /// <summary>Decodes one request payload and queues it; waits while the queue is full. Returns the rows accepted.
    /// Throws <see cref="IngestClosedException"/> once the pipeline has begun to stop. With a checkpoint, the rows of
    /// <paramref name="producer"/> (whose gate the caller holds) are numbered in its partition.</summary>
    public async ValueTask<long> AcceptAsync(IngestRequest request, string where, CancellationToken cancellationToken,
        IngestProducers.Producer? producer = null)
    {
        try
        {
            return await DecodeAndQueueAsync(request, where, _checkpoint is null ? null : producer, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new IngestClosedException(where);
        }
    }

    private async ValueTask<long> DecodeAndQueueAsync(IngestRequest request, string where, IngestProducers.Producer? producer, CancellationToken cancellationToken)
    {
        switch (request.PayloadCase)
        {
            case IngestRequest.PayloadOneofCase.Rows:
                {
                    var rows = request.Rows;
                    var map = RowCodec.MapColumns(rows, Schema, where);
                    for (var first = 0; first < rows.Rows.Count; first += _staging.Capacity)
                    {
                        var count = Math.Min(_staging.Capacity, rows.Rows.Count - first);
                        await QueueAsync(batch => RowCodec.Write(rows, map, first, count, batch, 0, where, Schema.Count), count, producer, cancellationToken).ConfigureAwait(false);
                    }
                    return rows.Rows.Count;
                }
            case IngestRequest.PayloadOneofCase.ArrowIpc:
                {
                    // The payload (and the record batches pointing into it) lives until the last chunk is copied.
                    var pooled = request.TakePooledPayload();
                    var payload = new ArrowPayload(pooled);
                    try
                    {
                        var batches = RowCodec.ReadArrow(request.ArrowIpc.Memory, where);
                        payload.Hold(batches);
                        long total = 0;
                        foreach (var arrow in batches)
                        {
                            RowCodec.CheckArrowSchema(arrow.Schema, Schema, where);
                            var plan = RentChunk();
                            try
                            {
                                var direct = ArrowDirectCopy.TryPlan(arrow, Schema, plan.ArrowColumns);
                                for (var first = 0; first < arrow.Length; first += _staging.Capacity)
                                {
                                    var count = Math.Min(_staging.Capacity, arrow.Length - first);
                                    if (direct) await QueueArrowAsync(arrow, plan.ArrowColumns, first, count, payload, producer, cancellationToken).ConfigureAwait(false);
                                    else await QueueConvertedAsync(arrow, first, count, where, producer, cancellationToken).ConfigureAwait(false);
                                }
                            }
                            finally
                            {
                                ReturnChunk(plan);
                            }
                            total += arrow.Length;
                        }
                        return total;
                    }
                    finally
                    {
                        // From here the pooled array is only the payload's: the request no longer points into it.
                        if (pooled is not null) request.ArrowIpc = Google.Protobuf.ByteString.Empty;
                        payload.Release();
                    }
                }
            default:
                throw new BadInputException("the message has no payload: set rows or arrow_ipc", where);
        }
    }

    /// <summary>Queues rows of a record batch that needs converting (or checking row by row) through a staging batch.</summary>
    private ValueTask QueueConvertedAsync(Apache.Arrow.RecordBatch arrow, int first, int count, string where,
        IngestProducers.Producer? producer, CancellationToken cancellationToken) =>
        QueueAsync(batch => RowCodec.Write(arrow, first, count, batch, 0, where, Schema.Count), count, producer, cancellationToken);

    private async ValueTask QueueAsync(Action<ColumnBatch> fill, int count, IngestProducers.Producer? producer, CancellationToken cancellationToken)
    {
        var batch = _staging.Rent();
        var chunk = RentChunk();
        chunk.Staged = batch;
        chunk.Length = count;
        try
        {
            batch.Length = count;
            fill(batch);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            var times = batch.EventTimesBuffer[..count];
            if (_eventTimeColumn is null) times.Fill(now);
            else
            {
                var column = batch[_eventTimeColumn];
                column.Values<long>()[..count].CopyTo(times);
            }
            var offsets = batch.RowOffsetsBuffer;
            // A producer's rows are numbered in its own partition (its gate is held, so this is its only writer); other
            // rows in the order they arrive.
            var first = producer is not null ? producer.NextRow : Interlocked.Add(ref _nextOffset, count) - count;
            for (var i = 0; i < count; i++) offsets[i] = first + i;
            var partition = producer is not null ? _checkpoint!.PartitionOf(producer) : _checkpoint?.AnonymousPartition ?? 0;
            batch.RowPartitionsBuffer[..count].Fill(partition);
            await _queue.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (producer is not null) producer.NextRow = first + count;
            Interlocked.Add(ref _rowsQueued, count);
        }
        catch
        {
            Release(chunk);
            throw;
        }
    }

    /// <summary>Queues rows [<paramref name="first"/>, first + count) of a checked record batch
    /// (<see cref="ArrowDirectCopy.TryPlan"/>) without copying them: the pipeline copies them into its ring batch.</summary>
    private async ValueTask QueueArrowAsync(Apache.Arrow.RecordBatch arrow, int[] columns, int first, int count, ArrowPayload payload,
        IngestProducers.Producer? producer, CancellationToken cancellationToken)
    {
        var chunk = RentChunk();
        columns.CopyTo(chunk.ArrowColumns, 0);
        chunk.Arrow = arrow;
        chunk.ArrowFirst = first;
        chunk.Length = count;
        payload.AddReference();
        chunk.Payload = payload;
        try
        {
            chunk.ArrivalMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            var firstOffset = producer is not null ? producer.NextRow : Interlocked.Add(ref _nextOffset, count) - count;
            chunk.FirstOffset = firstOffset;
            chunk.Partition = producer is not null ? _checkpoint!.PartitionOf(producer) : _checkpoint?.AnonymousPartition ?? 0;
            await _queue.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (producer is not null) producer.NextRow = firstOffset + count;
            Interlocked.Add(ref _rowsQueued, count);
        }
        catch
        {
            Release(chunk);
            throw;
        }
    }

    private IngestChunk RentChunk()
    {
        lock (_chunks)
            if (_chunks.TryPop(out var chunk)) return chunk;
        return new IngestChunk { ArrowColumns = new int[Schema.Count] };
    }

    private void ReturnChunk(IngestChunk chunk)
    {
        lock (_chunks) _chunks.Push(chunk);
    }

    /// <summary>Frees what a chunk holds (its staging batch, or its reference to the Arrow payload) and keeps it for reuse.</summary>
    private void Release(IngestChunk chunk)
    {
        if (chunk.Staged is { } staged) _staging.Return(staged);
        chunk.Payload?.Release();
        chunk.Staged = null;
        chunk.Arrow = null;
        chunk.Payload = null;
        ReturnChunk(chunk);
    }

    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (_current is null && !_queue.Reader.TryRead(out _current))
        {
            // Idle: wait a little for a message so the pipeline can notice a stop request. A closed and empty queue
            // ends the source: the drain after CloseForStop.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(100));
            try
            {
                // Waiting for a client is idle time, not busy time, in the stage counters.
                using (_context?.WaitingForInput() ?? default)
                    if (!await _queue.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false)) return false;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return true;
            }
            if (!_queue.Reader.TryRead(out _current)) return true;
        }
        EnsureMap(batch.Schema);
        var filled = 0;
        while (_current is not null && filled < batch.Capacity)
        {
            var take = Math.Min(batch.Capacity - filled, _current.Length - _currentRow);
            if (_current.Staged is { } staged) Copy(staged, _currentRow, take, batch, filled);
            else CopyArrow(_current, _currentRow, take, batch, filled);
            filled += take;
            _currentRow += take;
            if (_currentRow == _current.Length)
            {
                Release(_current);
                _currentRow = 0;
                if (!_queue.Reader.TryRead(out _current)) _current = null;
            }
        }
        var wasFilled = filled;
        batch.Length = filled;
        if (wasFilled > 0)
        {
            var offsets = batch.RowOffsets;
            var partitions = batch.RowPartitions;
            // One range per run of rows of one partition (producer); a producer's runs within a batch are contiguous.
            for (var start = 0; start < wasFilled;)
            {
                var end = start + 1;
                while (end < wasFilled && partitions[end] == partitions[start]) end++;
                batch.Positions.Add(partitions[start], offsets[start], offsets[end - 1] + 1);
                start = end;
            }
            Interlocked.Add(ref _rowsRead, wasFilled);
            // Rows arrive in event-time order per client (or carry their arrival millisecond), so everything a
            // millisecond below the highest time seen is complete; event-time windows downstream close on it.
            foreach (var time in batch.EventTimes) _maxEventTime = Math.Max(_maxEventTime, time);
            // Saturating: an event time within a millisecond of the smallest instant (a client's NaT-like sentinel)
            // must not wrap to a watermark in the far future (IngestWatermarkTests).
            batch.Watermark = _maxEventTime >= ColumnBatch.NoWatermark + 1000 ? _maxEventTime - 1000 : ColumnBatch.NoWatermark;
        }
        return true;
    }

    private void EnsureMap(Schema target)
    {
        if (!ReferenceEquals(target, _mappedFor)) Map(target);
    }

    // Apart from EnsureMap because the lambda's closure would otherwise be allocated on every call, before the check.
    private void Map(Schema target)
    {
        _map = [.. Schema.Select(f => target.Require(f.Name, f.Type))];
        _mappedFor = target;
    }

    /// <summary>Rows [<paramref name="first"/>, first + count) of an Arrow chunk into rows [<paramref name="at"/>, ...)
    /// of the ring batch, with their event times and positions.</summary>
    private void CopyArrow(IngestChunk chunk, int first, int count, ColumnBatch to, int at)
    {
        ArrowDirectCopy.Copy(chunk, chunk.ArrowFirst + first, count, to, at, _map);
        var times = to.EventTimesBuffer.Slice(at, count);
        if (_eventTimeColumn is null) times.Fill(chunk.ArrivalMicros);
        else to[_eventTimeColumn].Values<long>().Slice(at, count).CopyTo(times);
        var offsets = to.RowOffsetsBuffer.Slice(at, count);
        for (var i = 0; i < count; i++) offsets[i] = chunk.FirstOffset + first + i;
        to.RowPartitionsBuffer.Slice(at, count).Fill(chunk.Partition);
    }

    private void Copy(ColumnBatch from, int first, int count, ColumnBatch to, int at)
    {
        // Length must cover the rows written so far before the typed spans are sliced.
        for (var c = 0; c < _map.Length; c++)
        {
            var source = from[c];
            var target = to[_map[c]];
            switch (source.Type)
            {
                case ColumnType.Float32 or ColumnType.Int32 or ColumnType.Float64 or ColumnType.Int64 or ColumnType.Timestamp or ColumnType.Bool:
                    {
                        // Same type on both sides (Map requires it): copy the bytes.
                        var size = ColumnTypes.SizeOf(source.Type);
                        source.RawValues.Slice(first * size, count * size).CopyTo(target.RawValues[(at * size)..]);
                        break;
                    }
                case ColumnType.Binary:
                    for (var r = 0; r < count; r++) target.SetBytes(at + r, source.GetBytes(first + r));
                    break;
                case ColumnType.String:
                    {
                        var dictionary = source.Dictionary!;
                        if (_codes.Length < dictionary.Count) _codes = new int[Math.Max(dictionary.Count, _codes.Length * 2)];
                        _codes.AsSpan(0, dictionary.Count).Fill(-1);
                        var codes = source.Values<int>().Slice(first, count);
                        var output = target.Values<int>()[at..];
                        for (var r = 0; r < count; r++)
                        {
                            ref var code = ref _codes[codes[r]];
                            if (code < 0) code = target.Dictionary!.GetOrAdd(dictionary[codes[r]]);
                            output[r] = code;
                        }
                        break;
                    }
            }
            if (source.MayHaveNulls)
                for (var r = 0; r < count; r++)
                    if (!source.IsValid(first + r)) target.SetNull(at + r);
        }
        from.EventTimesBuffer.Slice(first, count).CopyTo(to.EventTimesBuffer[at..]);
        from.RowOffsetsBuffer.Slice(first, count).CopyTo(to.RowOffsetsBuffer[at..]);
        from.RowPartitionsBuffer.Slice(first, count).CopyTo(to.RowPartitionsBuffer[at..]);
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        // Ingested rows were acknowledged to the client when queued; there is nothing to replay from. With a checkpoint,
        // the producers' committed sequences advance and are saved (a retry after a crash resends from there).
        _checkpoint?.Commit(ranges);
    }

    public string Describe(int partition, long offset) =>
        _checkpoint?.ProducerOf(partition) is { } producer ? $"{Name} ingest producer '{producer}' row {offset}" : $"{Name} ingest row {offset}";

    public ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_current is not null) Release(_current);
        _current = null;
        while (_queue.Reader.TryRead(out var chunk)) Release(chunk);
        return ValueTask.CompletedTask;
    }
}

/// <summary>An Ingest message that arrived after its pipeline began to stop. Rows acknowledged before still reach the
/// sinks; the rows of this message were not accepted (of a message larger than one batch, the batches queued before
/// the stop are delivered, so resending it gives at-least-once delivery).</summary>
internal sealed class IngestClosedException(string where)
    : StreamMlException($"{where}: the pipeline is stopping and takes no more rows, so this message was not accepted " +
        "(rows of earlier messages were, and are delivered to the sinks); start the pipeline again and resend it");
