using StreamMl.Testing;

namespace StreamMl.Engine.Tests.Pipelines;

/// <summary>An operator stage run as several workers (<see cref="IParallelOperator"/>, <c>Then(op, workers)</c>): each
/// worker takes the batches whose sequence is its index modulo the worker count, batches reach the sinks in source
/// order even when a later batch finishes first, a stop loses nothing, positions are committed only once every earlier
/// batch is durable, and the workers allocate nothing per batch.</summary>
public sealed class ParallelStageTests
{
    private const int Rows = 100;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Adds "y" = 2x; records which batches (first id / <see cref="Rows"/>) each instance handled and the order
    /// in which batches were finished across instances; <see cref="Hold"/> can keep a batch until another is finished.</summary>
    private sealed class RecordingOperator : IParallelOperator
    {
        private readonly Shared _shared;
        private readonly DoublingOperator _inner = new();
        private int _id = -1;

        public RecordingOperator(int workers) => _shared = new Shared(workers);

        private RecordingOperator(Shared shared) => _shared = shared;

        private sealed class Shared(int workers)
        {
            public readonly int Workers = workers;
            public readonly List<RecordingOperator> Instances = [];
            public readonly List<long> Finished = [];
            public (long Batch, long Until)? Hold;
            public readonly ManualResetEventSlim Released = new();
        }

        public List<long> Handled { get; } = [];

        public IReadOnlyList<RecordingOperator> Instances => _shared.Instances;

        public List<long> FinishedOrder { get { lock (_shared.Finished) return [.. _shared.Finished]; } }

        /// <summary>Batch <paramref name="batch"/> is held until batch <paramref name="until"/> has finished.</summary>
        public void Hold(long batch, long until) => _shared.Hold = (batch, until);

        public string Name => "recording";

        public int Workers => _shared.Workers;

        public IBatchOperator CreateWorker()
        {
            var worker = new RecordingOperator(_shared);
            lock (_shared.Instances) _shared.Instances.Add(worker);
            return worker;
        }

        public Schema Bind(Schema input)
        {
            lock (_shared.Instances) if (!_shared.Instances.Contains(this)) _shared.Instances.Insert(0, this);
            var output = _inner.Bind(input);
            _id = output.Require("id");
            return output;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            var index = batch.Values<long>(_id)[0] / Rows;
            if (_shared.Hold is { } hold && hold.Batch == index && !_shared.Released.Wait(s_timeout))
                throw new TimeoutException($"batch {hold.Until} did not finish while batch {index} was held: the workers do not run in parallel");
            _inner.Process(batch, context);
            Handled.Add(index);
            lock (_shared.Finished) _shared.Finished.Add(index);
            if (_shared.Hold is { } release && release.Until == index) _shared.Released.Set();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Batches_reach_the_sink_in_source_order_when_a_later_batch_finishes_first(int workers)
    {
        var op = new RecordingOperator(workers);
        // Batch 0 (worker 0) waits until batch 1 (worker 1) has finished: completion order is inverted on purpose.
        op.Hold(0, 1);
        var sink = new CollectingSink();
        const long total = 300L * Rows;
        await using var pipeline = Pipeline.From(new CountingSource(total), new PipelineOptions { BatchCapacity = Rows, RingSize = 8 })
            .Then(op, workers).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.True(op.FinishedOrder.IndexOf(1) < op.FinishedOrder.IndexOf(0), "batch 1 should have finished before batch 0");
        Assert.Equal(Enumerable.Range(0, (int)total).Select(i => (long)i), sink.Ids);
        Assert.Equal(workers, op.Instances.Count);
        for (var w = 0; w < workers; w++)
        {
            var expected = Enumerable.Range(0, 300).Where(b => b % workers == w).Select(b => (long)b);
            Assert.Equal(expected, op.Instances[w].Handled);
        }
        Assert.Equal(workers, pipeline.StageWorkers[0]);
        Assert.Equal(300, pipeline.Stages.Where(s => s.Kind == StageKind.Operator).Sum(s => s.Batches));
    }

    [Fact]
    public async Task The_operator_asks_for_its_workers_and_an_ordinary_operator_cannot_have_more_than_one()
    {
        var op = new RecordingOperator(2);
        await using var pipeline = Pipeline.From(new CountingSource(10L * Rows), new PipelineOptions { BatchCapacity = Rows })
            .Then(op).To(new CollectingSink()).Build();
        Assert.Equal([2], pipeline.StageWorkers);
        Assert.Equal(["counting", "recording", "recording#2", "collect"], pipeline.Stages.Select(s => s.Name));

        var error = Assert.Throws<PipelineException>(() => Pipeline.From(new CountingSource(10)).Then(new DoublingOperator(), 2));
        Assert.Contains("'doubling' cannot run as 2 workers", error.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_stop_while_workers_run_loses_nothing_and_commits_what_the_sink_wrote(int workers)
    {
        var source = new CountingSource(long.MaxValue / 2, maxRowsPerBatch: Rows);
        var sink = new CollectingSink("slowish", delayMs: 1);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = Rows, RingSize = 8 })
            .Then(new RecordingOperator(workers), workers).To(sink).Build();
        await pipeline.StartAsync();
        await Eventually.TrueAsync(() => sink.Count >= 2_000, "the sink to hold 2,000 rows", seen: () => $"{sink.Count} rows");
        await pipeline.StopAsync().WaitAsync(s_timeout);

        Assert.Equal(Enumerable.Range(0, sink.Ids.Count).Select(i => (long)i), sink.Ids);
        Assert.Equal(sink.Ids.Count, source.Committed);
        Assert.True(pipeline.Completion.IsCompletedSuccessfully);
    }

    /// <summary>Checks, whenever the pipeline commits, that the sink has written every row below the committed end.</summary>
    private sealed class CheckingSource(CountingSource inner, CollectingSink sink) : IBatchSource
    {
        public long Committed => inner.Committed;
        public readonly List<string> Violations = [];
        public int CommitCalls;

        public string Name => inner.Name;
        public Schema Schema => inner.Schema;
        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => inner.OpenAsync(context, cancellationToken);
        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken) => inner.FillAsync(batch, cancellationToken);

        public void Commit(ReadOnlySpan<SourceRange> ranges)
        {
            CommitCalls++;
            // The sink writes rows in order, so "every row below End written" is "Count >= End".
            var written = sink.Count;
            foreach (var range in ranges)
                if (range.End > written) lock (Violations) Violations.Add($"committed up to {range.End} with {written} rows written");
            inner.Commit(ranges);
        }

        public string Describe(int partition, long offset) => inner.Describe(partition, offset);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task Positions_are_committed_only_when_every_earlier_batch_is_durable()
    {
        const long total = 400L * Rows;
        var sink = new CollectingSink();
        var source = new CheckingSource(new CountingSource(total), sink);
        var op = new RecordingOperator(2);
        // A held early batch while later batches finish: nothing past it may be committed in the meantime.
        op.Hold(10, 11);
        await using var pipeline = Pipeline.From(source, new PipelineOptions { BatchCapacity = Rows, RingSize = 8 })
            .Then(op).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.Empty(source.Violations);
        Assert.True(source.CommitCalls > 1, "the pipeline committed once at most; the check saw nothing");
        Assert.Equal(total, sink.Count);
        Assert.Equal(total, source.Committed);
    }

    /// <summary>A parallel operator whose every instance reads the allocation counter of its own thread.</summary>
    private sealed class ProbingParallelOperator(int workers) : IParallelOperator
    {
        private readonly DoublingOperator _inner = new();
        public readonly List<ProbingParallelOperator> Created = [];
        public readonly AllocationProbe Probe = new(warmup: 200, window: 250);

        public string Name => "probing";
        public int Workers => workers;
        public IBatchOperator CreateWorker()
        {
            var worker = new ProbingParallelOperator(workers);
            Created.Add(worker);
            return worker;
        }

        public Schema Bind(Schema input) => _inner.Bind(input);

        public void Process(ColumnBatch batch, StageContext context)
        {
            Probe.Tick();
            _inner.Process(batch, context);
        }
    }

    [Fact]
    public async Task Workers_allocate_nothing_per_batch()
    {
        const int capacity = 256;
        var op = new ProbingParallelOperator(2);
        var total = capacity * 2L * 1_250;
        var sink = new CollectingSink();
        await using var pipeline = Pipeline.From(new CountingSource(total), new PipelineOptions { BatchCapacity = capacity, RingSize = 8 })
            .Then(op).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(s_timeout);

        Assert.Equal(total, sink.Count);
        var worker = Assert.Single(op.Created);
        Assert.True(op.Probe.Windows >= 2 && worker.Probe.Windows >= 2, "a worker saw fewer than 700 batches");
        Assert.Equal((0L, 0L), (op.Probe.Fewest, worker.Probe.Fewest));
    }
}
