namespace StreamMl.Engine;

/// <summary>Produces batches for a pipeline: a file, a topic, a table, a generator. The pipeline calls every member
/// except <see cref="Commit"/> from one producer thread; <see cref="Commit"/> comes from the checkpoint thread.</summary>
public interface IBatchSource : IAsyncDisposable
{
    /// <summary>Name shown in counters and logs.</summary>
    string Name { get; }

    /// <summary>The columns this source fills. The pipeline's batches hold these plus the columns operators add.</summary>
    Schema Schema { get; }

    /// <summary>Opens files or connections. Called once, before the first <see cref="FillAsync"/>.</summary>
    ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken);

    /// <summary>Fills <paramref name="batch"/> (already reset) with up to <see cref="ColumnBatch.Capacity"/> rows:
    /// values of <see cref="Schema"/>'s columns (matched by name), event times, row offsets and partitions, the
    /// source ranges in <see cref="ColumnBatch.Positions"/> and, optionally, a watermark.</summary>
    /// <returns>False when the source is exhausted (its last rows, if any, are in <paramref name="batch"/>); true
    /// otherwise. An unbounded source with nothing new returns true with an empty batch after a short wait.</returns>
    ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken);

    /// <summary>Every sink has made the rows of these ranges durable: the source may commit them (Kafka offsets,
    /// file positions, database cursors, MQTT acknowledgements).</summary>
    void Commit(ReadOnlySpan<SourceRange> ranges);

    /// <summary>A human-readable place for an offset of a partition, such as "data.csv line 12" or "topic[3]@1042".</summary>
    string Describe(int partition, long offset);

    /// <summary>True when a position names the same record in every run: a restarted source resumes from its committed
    /// positions and reads the same records after them again (files, Kafka offsets, database cursors), so a sink may
    /// recognise rows an earlier run already wrote by their positions. False (the default) when positions are counters
    /// that start again with each run (MQTT, HTTP, gRPC): a sink must then never take an earlier run's output for
    /// the same rows (the Parquet sink gives such runs file names of their own).</summary>
    bool PositionsAreStable => false;
}

/// <summary>What a source gets from its pipeline.</summary>
public sealed class SourceContext(string pipelineName, IDeadLetterSink deadLetters)
{
    /// <summary>Name of the pipeline.</summary>
    public string PipelineName { get; } = pipelineName;

    /// <summary>Where records that cannot be decoded go, with the reason and their position.</summary>
    public IDeadLetterSink DeadLetters { get; } = deadLetters;

    /// <summary>The source stage's counters, set by the pipeline; null when the source runs outside one.</summary>
    internal StageCounters? Counters { get; init; }

    /// <summary>Marks the time until the result is disposed as waiting for input (a message, a poll interval, a file to
    /// grow), so the stage's busy time counts only work: <c>using (context.WaitingForInput()) await reader.WaitToReadAsync(token);</c>.
    /// Time in <see cref="IBatchSource.FillAsync"/> outside such scopes is busy time.</summary>
    public IdleScope WaitingForInput() => new(Counters);
}
