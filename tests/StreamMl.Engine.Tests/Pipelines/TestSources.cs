namespace StreamMl.Engine.Tests.Pipelines;

/// <summary>A bounded source of sequential longs (column "id") and float values ("x" = id / 2), partition 0, offset = id.</summary>
internal sealed class CountingSource(long total, int? maxRowsPerBatch = null, long startAt = 0, bool idleAtEnd = false) : IBatchSource
{
    private long _next = startAt;
    private int _id = -1;
    private int _x = -1;
    public long Committed = -1;
    public readonly List<SourceRange> Commits = new(8_192); // pre-sized: the allocation test runs Commit on a sink thread
    public volatile bool Opened;

    public static readonly Schema SourceSchema = new(new Field("id", ColumnType.Int64), new Field("x", ColumnType.Float32));

    public string Name => "counting";

    public Schema Schema => SourceSchema;

    public long Produced => _next;

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        Opened = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_id < 0) { _id = batch.Schema.Require("id"); _x = batch.Schema.Require("x"); }
        var rows = (int)Math.Min(Math.Min(batch.Capacity, maxRowsPerBatch ?? int.MaxValue), total - _next);
        var ids = batch[_id].Values<long>();
        var xs = batch[_x].Values<float>();
        for (var row = 0; row < rows; row++)
        {
            ids[row] = _next + row;
            xs[row] = (_next + row) / 2f;
            batch.EventTimesBuffer[row] = (_next + row) * 1000;
            batch.RowOffsetsBuffer[row] = _next + row;
            batch.RowPartitionsBuffer[row] = 0;
        }
        batch.Length = rows;
        if (rows > 0) batch.Positions.Add(0, _next, _next + rows);
        _next += rows;
        if (idleAtEnd && rows == 0) Thread.Sleep(1); // an unbounded source with nothing new
        return ValueTask.FromResult(idleAtEnd || _next < total);
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        lock (Commits)
        {
            foreach (var range in ranges)
            {
                Commits.Add(range);
                Committed = Math.Max(Committed, range.End);
            }
        }
    }

    public string Describe(int partition, long offset) => $"counting row {offset}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Collects the ids it sees, optionally slowly, and records the pipeline's in-flight count when asked.</summary>
internal sealed class CollectingSink(string name = "collect", int delayMs = 0, bool durableOnWrite = true, bool markDurableOnFlush = true) : IBatchSink
{
    private SinkContext? _context;
    private long _lastWritten = -1;
    private readonly List<long> _ids = [];
    private int _count;
    public Func<long, bool>? FailOnSequence;

    /// <summary>Ids written so far (a copy; the sink thread keeps writing).</summary>
    public List<long> Ids { get { lock (_ids) return [.. _ids]; } }

    /// <summary>Rows written so far, readable from any thread.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Selection counts of the batches as this sink saw them.</summary>
    public readonly List<int> SelectedPerBatch = [];
    public Func<long>? InFlightProbe;
    public long MaxInFlight;
    public int Flushes;

    public string Name { get; } = name;

    public bool DurableOnWrite => durableOnWrite;

    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        return ValueTask.CompletedTask;
    }

    public void Write(ColumnBatch batch, long sequence)
    {
        if (FailOnSequence?.Invoke(sequence) == true) throw new IOException($"disk full at batch {sequence}");
        var ids = batch.Values<long>(batch.Schema.Require("id"));
        lock (_ids)
        {
            for (var row = 0; row < batch.Length; row++)
                if (batch.Selection.IsSelected(row)) _ids.Add(ids[row]);
            SelectedPerBatch.Add(batch.Selection.Count);
            Volatile.Write(ref _count, _ids.Count);
        }
        if (InFlightProbe is not null) MaxInFlight = Math.Max(MaxInFlight, InFlightProbe());
        _lastWritten = sequence;
        if (delayMs > 0) Thread.Sleep(delayMs);
    }

    public void Flush()
    {
        Flushes++;
        if (markDurableOnFlush && _lastWritten >= 0) _context!.MarkDurable(_lastWritten);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Adds "y" = 2x, rejects rows whose id is divisible by <paramref name="rejectEvery"/>, and throws on batches
/// whose first id is in <paramref name="throwOnFirstIds"/>.</summary>
internal sealed class DoublingOperator(long rejectEvery = 0, params long[] throwOnFirstIds) : IBatchOperator
{
    private int _x, _y, _id;

    public string Name => "doubling";

    public Schema Bind(Schema input)
    {
        var output = input.Add(new Field("y", ColumnType.Float32));
        _x = output.Require("x");
        _y = output.Require("y");
        _id = output.Require("id");
        return output;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        var ids = batch.Values<long>(_id);
        if (batch.Length > 0 && throwOnFirstIds.Contains(ids[0])) throw new InvalidOperationException($"boom at {ids[0]}");
        var x = batch.Values<float>(_x);
        var y = batch.Values<float>(_y);
        for (var row = 0; row < batch.Length; row++)
        {
            y[row] = 2 * x[row];
            if (rejectEvery > 0 && ids[row] % rejectEvery == 0 && batch.Selection.IsSelected(row))
                context.Reject(batch, row, "divisible", $"id {ids[row]} is divisible by {rejectEvery}");
        }
    }
}
