namespace StreamMl.Engine.Tests.Pipelines;

/// <summary>In steady state the source, operator and sink threads of a pipeline allocate nothing per batch.</summary>
public sealed class AllocationTests
{
    private const int WarmupBatches = 200;
    private const int MeasuredBatches = 2_000;

    private sealed class ProbingSource(CountingSource inner, AllocationProbe probe) : IBatchSource
    {
        public string Name => inner.Name;
        public Schema Schema => inner.Schema;
        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => inner.OpenAsync(context, cancellationToken);

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            probe.Tick();
            return inner.FillAsync(batch, cancellationToken);
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) => inner.Commit(ranges);
        public string Describe(int partition, long offset) => inner.Describe(partition, offset);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class ProbingOperator(AllocationProbe probe) : IBatchOperator
    {
        private readonly DoublingOperator _inner = new();
        public string Name => "probing";
        public Schema Bind(Schema input) => _inner.Bind(input);

        public void Process(ColumnBatch batch, StageContext context)
        {
            probe.Tick();
            _inner.Process(batch, context);
        }
    }

    private sealed class ProbingSink(AllocationProbe probe) : IBatchSink
    {
        public long Rows;
        public string Name => "probing";
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Write(ColumnBatch batch, long sequence)
        {
            probe.Tick();
            Rows += batch.Selection.Count;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Source_operator_and_sink_threads_allocate_nothing_per_batch()
    {
        const int capacity = 256;
        var total = (long)capacity * (WarmupBatches + MeasuredBatches + 10);
        var sourceProbe = new AllocationProbe(WarmupBatches, MeasuredBatches / 4);
        var operatorProbe = new AllocationProbe(WarmupBatches, MeasuredBatches / 4);
        var sinkProbe = new AllocationProbe(WarmupBatches, MeasuredBatches / 4);
        var sink = new ProbingSink(sinkProbe);
        await using var pipeline = Pipeline.From(new ProbingSource(new CountingSource(total), sourceProbe),
                new PipelineOptions { BatchCapacity = capacity, RingSize = 8 })
            .Then(new ProbingOperator(operatorProbe)).To(sink).Build();
        await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(total, sink.Rows);
        Assert.All(new[] { sourceProbe, operatorProbe, sinkProbe }, p => Assert.True(p.Windows >= 3, $"only {p.Windows} windows measured"));
        Assert.Equal((0L, 0L, 0L), (sourceProbe.Fewest, operatorProbe.Fewest, sinkProbe.Fewest));
    }
}
