using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine.Ring;

namespace StreamMl.Engine.Tests.Pipelines;

public sealed class PipelineTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Property(MaxTest = 15)]
    public Property Bounded_pipeline_delivers_every_row_once_in_order_to_every_sink_and_commits_everything(
        NonNegativeInt rows, NonNegativeInt capacity, NonNegativeInt ring, NonNegativeInt wait)
    {
        var total = rows.Get % 20_000;
        var options = new PipelineOptions
        {
            BatchCapacity = new[] { 1, 7, 64, 4096 }[capacity.Get % 4],
            RingSize = 1 << (ring.Get % 4),
            WaitStrategy = (WaitStrategyKind)(wait.Get % 4),
        };
        var source = new CountingSource(total);
        var a = new CollectingSink("a");
        var b = new CollectingSink("b", durableOnWrite: false);
        var pipeline = Pipeline.From(source, options).Then(new DoublingOperator()).To(a, b).Build();
        pipeline.RunAsync().WaitAsync(s_timeout).GetAwaiter().GetResult();
        pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var expected = Enumerable.Range(0, total).Select(i => (long)i);
        return (a.Ids.SequenceEqual(expected) && b.Ids.SequenceEqual(expected) && source.Committed == (total == 0 ? -1 : total))
            .Label($"total={total} capacity={options.BatchCapacity} ring={options.RingSize} wait={options.WaitStrategy} committed={source.Committed}");
    }

    [Fact]
    public async Task Slow_sink_holds_the_source_back_and_in_flight_batches_never_exceed_the_ring()
    {
        var source = new CountingSource(64 * 40, maxRowsPerBatch: 64);
        var sink = new CollectingSink("slow", delayMs: 2);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 64, RingSize = 4 })
            .Then(new DoublingOperator()).To(sink).Build();
        sink.InFlightProbe = () => pipeline.InFlight;
        var run = pipeline.RunAsync();
        var maxAhead = 0L;
        while (!run.IsCompleted)
        {
            // Batches the source produced that the sink has not finished: bounded by the ring plus the one being filled.
            maxAhead = Math.Max(maxAhead, source.Produced / 64 - sink.Count / 64);
            await Task.Delay(1);
        }
        await run;
        Assert.Equal(64 * 40, sink.Ids.Count);
        Assert.InRange(sink.MaxInFlight, 1, 4);
        Assert.InRange(maxAhead, 1, 4 + 2);
        Assert.True(pipeline.Stages[0].Waiting > TimeSpan.Zero, "the source never waited for the slow sink");
        Assert.True(pipeline.Stages[2].Busy >= TimeSpan.FromMilliseconds(40 * 2), "the sink's sleeps are not in its busy time");
        Assert.True(pipeline.Stages[1].Waiting > TimeSpan.Zero, "the operator's waiting time was not reported");
    }

    [Fact]
    public async Task Rejected_rows_go_to_dead_letters_and_counts_reconcile()
    {
        var source = new CountingSource(10_000);
        var sink = new CollectingSink();
        var deadLetters = new CollectingDeadLetterSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1000, DeadLetters = deadLetters })
            .Then(new DoublingOperator(rejectEvery: 7)).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        var rejected = Enumerable.Range(0, 10_000).Where(i => i % 7 == 0).Select(i => (long)i).ToList();
        Assert.Equal(rejected, deadLetters.Letters.Select(l => l.Offset).Order().ToList());
        Assert.Equal(10_000, sink.Ids.Count + deadLetters.Count);
        var letter = deadLetters.Letters.First(l => l.Offset == 14);
        Assert.Equal("divisible", letter.Rule);
        Assert.Equal("counting row 14", letter.Location);
        Assert.Contains("id=14", letter.Raw);
        Assert.Equal(rejected.Count, pipeline.Stages[1].RowsRejected);
    }

    [Fact]
    public async Task A_failing_batch_is_dead_lettered_and_the_pipeline_goes_on()
    {
        var source = new CountingSource(5_000);
        var sink = new CollectingSink();
        var deadLetters = new CollectingDeadLetterSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 500, DeadLetters = deadLetters })
            .Then(new DoublingOperator(0, 1000, 3500)).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.Equal(4_000, sink.Ids.Count);
        Assert.Equal(1_000, deadLetters.Count);
        Assert.All(deadLetters.Letters, l => Assert.Equal("stage-error", l.Rule));
        Assert.Contains("boom at 1000", deadLetters.Letters[0].Message);
        Assert.Equal(2, pipeline.Stages[1].Errors);
        Assert.Equal(5_000, source.Committed);
    }

    [Fact]
    public async Task Stop_policy_faults_the_pipeline_with_the_operator_error()
    {
        var source = new CountingSource(100_000);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 500, ErrorPolicy = ErrorPolicy.Stop })
            .Then(new DoublingOperator(0, 1000)).To(new CollectingSink()).Build();
        var error = await Assert.ThrowsAsync<PipelineException>(() => pipeline.RunAsync().WaitAsync(s_timeout));
        Assert.Contains("boom at 1000", error.Message);
    }

    [Fact]
    public async Task Stop_drains_what_is_in_the_ring_and_commits_only_what_reached_every_sink()
    {
        var source = new CountingSource(long.MaxValue / 2, maxRowsPerBatch: 100);
        var sink = new CollectingSink("slowish", delayMs: 1);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 100, RingSize = 8 }).To(sink).Build();
        await pipeline.StartAsync();
        await WaitUntil(() => sink.Count >= 2_000);
        await pipeline.StopAsync().WaitAsync(s_timeout);

        Assert.Equal(Enumerable.Range(0, sink.Ids.Count).Select(i => (long)i), sink.Ids);
        Assert.Equal(sink.Ids.Count, source.Committed);
        Assert.True(pipeline.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Restart_from_the_committed_position_delivers_every_row_at_least_once()
    {
        var firstSource = new CountingSource(50_000, maxRowsPerBatch: 100);
        var sink = new CollectingSink("buffered", delayMs: 0, durableOnWrite: false);
        await using (var first = Pipeline.From(firstSource, new PipelineOptions { BatchCapacity = 100, FlushInterval = TimeSpan.FromMilliseconds(5) })
            .To(sink).Build())
        {
            await first.StartAsync();
            await WaitUntil(() => sink.Count >= 10_000);
            await first.StopAsync().WaitAsync(s_timeout);
        }
        var resumeAt = firstSource.Committed;
        Assert.InRange(resumeAt, 10_000, 50_000);
        var secondSource = new CountingSource(50_000, startAt: resumeAt);
        await using (var second = Pipeline.From(secondSource).To(sink).Build()) await second.RunAsync().WaitAsync(s_timeout);

        Assert.Equal(Enumerable.Range(0, 50_000).Select(i => (long)i), sink.Ids.Distinct().Order());
        Assert.All(sink.Ids.GroupBy(i => i).Where(g => g.Count() > 1), g => Assert.True(g.Key >= resumeAt));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the pipeline did not get there in time");
            await Task.Delay(2);
        }
    }

    [Fact]
    public async Task Disposing_twice_is_harmless()
    {
        var pipeline = Pipeline.From(new CountingSource(1_000)).To(new CollectingSink()).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);
        await pipeline.DisposeAsync();
        await pipeline.DisposeAsync();
        Assert.True(pipeline.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_failed_batch_does_not_commit_what_a_buffering_sink_has_not_flushed()
    {
        var source = new CountingSource(5_000, idleAtEnd: true);
        var direct = new CollectingSink("direct");
        var buffered = new CollectingSink("buffered", durableOnWrite: false, markDurableOnFlush: false);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 500, FlushInterval = TimeSpan.FromHours(1) })
            .Then(new DoublingOperator(0, 2_500)).To(direct, buffered).Build();
        await pipeline.StartAsync();
        // Each sink handles its batches in order on its own thread: once the buffering sink holds the last batch's rows,
        // it has passed the failed batch (the one a wrong commit would come from).
        await WaitUntil(() => direct.Count >= 4_500 && buffered.Count >= 4_500);
        // The buffered sink never reported anything durable: no position may be committed, the failed batch included.
        Assert.Equal(-1, source.Committed);
        Assert.Equal(4_500, buffered.Count);
        await pipeline.StopAsync().WaitAsync(s_timeout);
        Assert.Equal(5_000, source.Committed); // the drain flushes every sink and commits everything, the failed batch too
    }

    [Fact]
    public async Task Periodic_flushes_commit_only_what_a_buffering_sink_reported_durable()
    {
        // A buffering sink whose flush makes nothing durable yet (a Parquet file that stays open until it rolls).
        var source = new CountingSource(3_000, idleAtEnd: true);
        var buffered = new CollectingSink("buffered", durableOnWrite: false, markDurableOnFlush: false);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 500, FlushInterval = TimeSpan.FromMilliseconds(5) })
            .To(buffered).Build();
        await pipeline.StartAsync();
        await WaitUntil(() => buffered.Count >= 3_000 && buffered.Flushes >= 3);
        Assert.Equal(-1, source.Committed);
        await pipeline.StopAsync().WaitAsync(s_timeout);
        Assert.Equal(3_000, source.Committed); // closing the sink publishes everything, then the drain commits it
    }

    [Fact]
    public async Task A_failing_sink_is_retried_then_stops_the_pipeline_without_touching_the_batch_or_committing_it()
    {
        var source = new CountingSource(20_000);
        var healthy = new CollectingSink("healthy");
        var failing = new CollectingSink("failing") { FailOnSequence = s => s == 3 };
        var deadLetters = new CollectingDeadLetterSink();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1000, DeadLetters = deadLetters })
            .To(healthy, failing).Build();

        var error = await Assert.ThrowsAsync<PipelineException>(() => pipeline.RunAsync().WaitAsync(s_timeout));
        Assert.Contains("sink 'failing' failed on batch 3 after 4 attempt(s)", error.Message);
        Assert.Contains("disk full", error.Message);
        Assert.True(source.Committed <= 3_000, $"committed {source.Committed} past the batch the failing sink never wrote");
        Assert.All(healthy.SelectedPerBatch, count => Assert.Equal(1000, count));
        Assert.Equal(0, deadLetters.Count);
        Assert.Equal(Pipeline.SinkRetries, pipeline.Stages[2].Errors);
    }

    [Fact]
    public async Task A_sink_that_cannot_open_fails_start_closes_the_source_and_dispose_returns()
    {
        var source = new CountingSource(10);
        await using var pipeline = Pipeline.From(source).To(new CollectingSink(), new UnopenableSink()).Build();
        var error = await Assert.ThrowsAsync<IOException>(() => pipeline.StartAsync());
        Assert.Contains("no such directory", error.Message);
        await Assert.ThrowsAsync<IOException>(() => pipeline.Completion);
        await pipeline.DisposeAsync().AsTask().WaitAsync(s_timeout);
    }

    [Fact]
    public async Task Dead_letters_are_flushed_before_the_positions_of_their_rows_are_committed()
    {
        var deadLetters = new FlushCountingDeadLetters();
        var source = new CommitCheckingSource(new CountingSource(10_000), deadLetters);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 1000, DeadLetters = deadLetters })
            .Then(new DoublingOperator(rejectEvery: 10)).To(new CollectingSink()).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.Equal(1_000, deadLetters.Count);
        Assert.NotEmpty(source.Checks);
        // At every commit, the letters of every rejected row up to the committed offset had been flushed.
        Assert.All(source.Checks, check => Assert.True(check.Flushed >= check.RejectedBelow, $"{check}"));
    }

    private sealed class FlushCountingDeadLetters : IDeadLetterSink
    {
        private long _count;
        private long _flushed;

        public long Count => Interlocked.Read(ref _count);

        public long Flushed => Interlocked.Read(ref _flushed);

        public void Write(DeadLetter deadLetter) => Interlocked.Increment(ref _count);

        public void Flush() => Interlocked.Exchange(ref _flushed, Count);
    }

    /// <summary>Passes everything to a <see cref="CountingSource"/> and, at each commit, notes how many letters were
    /// flushed against how many rows below the committed offset were rejected (ids divisible by 10).</summary>
    private sealed class CommitCheckingSource(CountingSource inner, FlushCountingDeadLetters deadLetters) : IBatchSource
    {
        public readonly List<(long Flushed, long RejectedBelow)> Checks = [];

        public string Name => inner.Name;
        public Schema Schema => inner.Schema;
        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => inner.OpenAsync(context, cancellationToken);
        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken) => inner.FillAsync(batch, cancellationToken);

        public void Commit(ReadOnlySpan<SourceRange> ranges)
        {
            var end = 0L;
            foreach (var range in ranges) end = Math.Max(end, range.End);
            lock (Checks) Checks.Add((deadLetters.Flushed, (end + 9) / 10));
            inner.Commit(ranges);
        }

        public string Describe(int partition, long offset) => inner.Describe(partition, offset);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class UnopenableSink : IBatchSink
    {
        public string Name => "unopenable";
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => throw new IOException("no such directory /nope");
        public void Write(ColumnBatch batch, long sequence) { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public void Building_with_an_operator_that_needs_a_missing_column_names_it()
    {
        var error = Assert.Throws<SchemaMismatchException>(() =>
            Pipeline.From(new CountingSource(1)).Then(new StreamMl.Engine.Time.KeyedWindowOperator("device", "x",
                StreamMl.Engine.Time.WindowSpec.Tumbling(TimeSpan.FromSeconds(1)), new StreamMl.Engine.Time.CollectingWindowOutput())).Build());
        Assert.Contains("'device'", error.Message);
    }
}
