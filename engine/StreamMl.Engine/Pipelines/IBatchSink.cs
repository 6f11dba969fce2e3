namespace StreamMl.Engine;

/// <summary>Consumes batches at the end of a pipeline. Sinks run in parallel, each on its own thread, and see every
/// batch. A batch counts as durable for a sink once the sink calls <see cref="SinkContext.MarkDurable"/> for its
/// sequence (or at once after <see cref="Write"/> when <see cref="DurableOnWrite"/> is true); when every sink has made
/// a batch durable the pipeline commits its source positions.</summary>
public interface IBatchSink : IAsyncDisposable
{
    /// <summary>Name shown in counters and logs.</summary>
    string Name { get; }

    /// <summary>True (the default) when a batch is durable as soon as <see cref="Write"/> returns. Buffering sinks
    /// (Parquet row groups, Kafka producers) return false and call <see cref="SinkContext.MarkDurable"/> after a flush.</summary>
    bool DurableOnWrite => true;

    /// <summary>Opens files or connections for batches of <see cref="SinkContext.Schema"/>.</summary>
    ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken);

    /// <summary>Writes the selected rows of <paramref name="batch"/>; <paramref name="sequence"/> increases by one per batch.</summary>
    void Write(ColumnBatch batch, long sequence);

    /// <summary>Makes every written batch durable. Called when the pipeline drains, and every
    /// <see cref="PipelineOptions.FlushInterval"/> while it runs.</summary>
    void Flush() { }
}

/// <summary>What a sink gets from its pipeline.</summary>
public sealed class SinkContext
{
    private readonly Action<long>? _markDurable;

    internal SinkContext(string pipelineName, Schema schema, IBatchSource? source, Action<long>? markDurable)
    {
        PipelineName = pipelineName;
        Schema = schema;
        Source = source;
        _markDurable = markDurable;
    }

    /// <summary>Creates a context for driving a sink outside a pipeline (tests, embedding).</summary>
    public static SinkContext Standalone(Schema schema, Action<long>? markDurable = null) =>
        new("standalone", schema, null, markDurable);

    /// <summary>Name of the pipeline.</summary>
    public string PipelineName { get; }

    /// <summary>Schema of the batches the sink will see.</summary>
    public Schema Schema { get; }

    /// <summary>The pipeline's source, to describe positions and name outputs; null outside a pipeline.</summary>
    public IBatchSource? Source { get; }

    /// <summary>Reports that every batch up to and including <paramref name="sequence"/> is durable.</summary>
    public void MarkDurable(long sequence) => _markDurable?.Invoke(sequence);
}
