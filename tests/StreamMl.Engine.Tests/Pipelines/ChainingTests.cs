using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace StreamMl.Engine.Tests.Pipelines;

/// <summary><see cref="PipelineOptions.ChainOperators"/>: operators on the source's thread behave as on their own stages.</summary>
public sealed class ChainingTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Records the thread each batch ran on and checks the operators see batches in order.</summary>
    private sealed class ThreadRecordingOperator(string name) : IBatchOperator
    {
        private int _id;
        public readonly HashSet<string?> Threads = [];
        public long LastFirstId = -1;
        public bool InOrder = true;

        public string Name => name;

        public Schema Bind(Schema input)
        {
            _id = input.Require("id");
            return input;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            Threads.Add(Thread.CurrentThread.Name);
            if (batch.Length == 0) return;
            var first = batch.Values<long>(_id)[0];
            InOrder &= first > LastFirstId;
            LastFirstId = first;
        }
    }

    [Property(MaxTest = 10)]
    public Property Chained_operators_deliver_what_stage_threads_deliver(NonNegativeInt rows, NonNegativeInt capacity, PositiveInt reject)
    {
        var total = rows.Get % 20_000;
        (List<long> Ids, List<long> Dead, long Committed, long StageRejected) Run(bool chain)
        {
            var options = new PipelineOptions { BatchCapacity = new[] { 1, 7, 64, 4096 }[capacity.Get % 4], ChainOperators = chain, DeadLetters = new CollectingDeadLetterSink() };
            var source = new CountingSource(total);
            var a = new CollectingSink("a");
            var b = new CollectingSink("b", durableOnWrite: false);
            var pipeline = Pipeline.From(source, options).Then(new DoublingOperator(rejectEvery: reject.Get % 50 + 2)).Then(new DoublingOperator()).To(a, b).Build();
            pipeline.RunAsync().WaitAsync(s_timeout).GetAwaiter().GetResult();
            pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Assert.Equal(a.Ids, b.Ids);
            var dead = ((CollectingDeadLetterSink)pipeline.DeadLetters).Letters.Select(l => l.Offset).Order().ToList();
            return (a.Ids, dead, source.Committed, pipeline.Stages[1].RowsRejected);
        }
        var staged = Run(chain: false);
        var chained = Run(chain: true);
        return (staged.Ids.SequenceEqual(chained.Ids) && staged.Dead.SequenceEqual(chained.Dead) && staged.Committed == chained.Committed
                && staged.StageRejected == chained.StageRejected && chained.Ids.Count + chained.Dead.Count == total)
            .Label($"total={total} ids {staged.Ids.Count}/{chained.Ids.Count} dead {staged.Dead.Count}/{chained.Dead.Count} committed {staged.Committed}/{chained.Committed}");
    }

    [Fact]
    public async Task Chained_operators_run_in_order_on_the_source_thread_and_keep_their_counters()
    {
        var first = new ThreadRecordingOperator("first");
        var second = new ThreadRecordingOperator("second");
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(new CountingSource(10_000), new PipelineOptions { Name = "p", BatchCapacity = 100, ChainOperators = true })
            .Then(first).Then(second).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.Equal(["p/counting"], first.Threads);
        Assert.Equal(["p/counting"], second.Threads);
        Assert.True(first.InOrder && second.InOrder);
        Assert.Equal(9_900, first.LastFirstId);
        Assert.Equal(["counting", "first", "second", "collect"], pipeline.Stages.Select(s => s.Name));
        Assert.Equal(100, pipeline.Stages[1].Batches);
        Assert.Equal(10_000, pipeline.Stages[2].RowsOut);
        Assert.Equal(10_000, sink.Ids.Count);
    }

    [Fact]
    public async Task A_failing_chained_operator_dead_letters_its_batch_or_stops_the_pipeline_by_policy()
    {
        var deadLetters = new CollectingDeadLetterSink();
        var sink = new CollectingSink();
        var source = new CountingSource(5_000);
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = 500, DeadLetters = deadLetters, ChainOperators = true })
            .Then(new DoublingOperator(0, 1000, 3500)).To(sink).Build())
        {
            await pipeline.RunAsync().WaitAsync(s_timeout);
            Assert.Equal(2, pipeline.Stages[1].Errors);
        }
        Assert.Equal(4_000, sink.Ids.Count);
        Assert.Equal(1_000, deadLetters.Count);
        Assert.All(deadLetters.Letters, l => Assert.Equal("stage-error", l.Rule));
        Assert.Equal(5_000, source.Committed);

        var stopping = new CountingSource(100_000);
        var stopped = new CollectingSink();
        await using var failing = Pipeline.From(stopping, new PipelineOptions { BatchCapacity = 500, ErrorPolicy = ErrorPolicy.Stop, ChainOperators = true })
            .Then(new DoublingOperator(0, 1000)).To(stopped).Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => failing.RunAsync().WaitAsync(s_timeout));
        Assert.Contains("boom at 1000", error.Message);
        Assert.DoesNotContain(stopped.Ids, id => id >= 1000); // the failing batch was never published
        Assert.True(stopping.Committed <= 1000);
    }
}
