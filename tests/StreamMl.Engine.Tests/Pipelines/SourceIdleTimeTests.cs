namespace StreamMl.Engine.Tests.Pipelines;

/// <summary>A source waiting for input is idle, not busy (issue 12 item 17). Before: a stage's busy time was the whole
/// time inside <see cref="IBatchSource.FillAsync"/>, so an idle gRPC ingest source or a Kafka poll with nothing new
/// reported itself busy all the time.</summary>
public sealed class SourceIdleTimeTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>Waits on a semaphore (synchronously or not) inside <see cref="SourceContext.WaitingForInput"/> before
    /// its only batch, then ends.</summary>
    private sealed class WaitingSource(bool synchronous) : IBatchSource
    {
        private readonly SemaphoreSlim _gate = new(0, 1);
        private SourceContext _context = null!;
        private bool _done;

        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "waiting";

        public Schema Schema => CountingSource.SourceSchema;

        public void Release() => _gate.Release();

        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
        {
            _context = context;
            return ValueTask.CompletedTask;
        }

        public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            if (_done) return false;
            using (_context.WaitingForInput())
            {
                Waiting.TrySetResult();
                if (synchronous) _gate.Wait(cancellationToken);
                else await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            var ids = batch["id"].Values<long>();
            for (var row = 0; row < 10; row++)
            {
                ids[row] = row;
                batch.RowOffsetsBuffer[row] = row;
            }
            batch.Length = 10;
            batch.Positions.Add(0, 0, 10);
            _done = true;
            return true;
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) { }

        public string Describe(int partition, long offset) => $"row {offset}";

        public ValueTask DisposeAsync()
        {
            _gate.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Waiting_for_input_counts_as_idle_and_busy_stays_near_zero(bool synchronous)
    {
        var source = new WaitingSource(synchronous);
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 64, RingSize = 4 })
            .Then(new DoublingOperator()).To(sink).Build();
        var run = pipeline.RunAsync();
        await source.Waiting.Task.WaitAsync(s_timeout);
        // The source sits idle for at least this long; nothing is asserted about what happens meanwhile. The time is
        // measured, not taken from the delay (Task.Delay may return a little early by the stopwatch's clock): the
        // source's idle scope opened before Waiting completed and closes after Release, so it holds all of it.
        var idleFor = TimeSpan.FromMilliseconds(800);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(idleFor);
        var measured = waited.Elapsed;
        source.Release();
        await run.WaitAsync(s_timeout);

        var stages = pipeline.Stages;
        Assert.Equal(10, stages[0].RowsOut);
        Assert.True(stages[0].Idle >= measured, $"source idle {stages[0].Idle.TotalMilliseconds} ms, expected at least the {measured.TotalMilliseconds} ms it waited");
        // Generous bounds: the work is a few microseconds; a loaded machine must not make this flaky.
        Assert.True(stages[0].Busy < idleFor / 4, $"source busy {stages[0].Busy.TotalMilliseconds} ms while idle {stages[0].Idle.TotalMilliseconds} ms");
        Assert.True(stages[1].Busy < idleFor / 4, $"operator busy {stages[1].Busy.TotalMilliseconds} ms");
        Assert.True(stages[2].Busy < idleFor / 4, $"sink busy {stages[2].Busy.TotalMilliseconds} ms");
        Assert.Equal(TimeSpan.Zero, stages[1].Idle);
    }

    [Fact]
    public void Outside_a_pipeline_the_scope_measures_nothing_and_does_not_throw()
    {
        var context = new SourceContext("none", new CollectingDeadLetterSink());
        using (context.WaitingForInput()) { }
        using (default(IdleScope)) { }
    }
}
