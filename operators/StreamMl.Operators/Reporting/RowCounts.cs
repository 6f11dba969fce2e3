namespace StreamMl.Operators.Reporting;

/// <summary>Where the rows of a pipeline went. They reconcile when every row read is written, dead-lettered, filtered
/// or still in flight.</summary>
public sealed record RowCounts
{
    /// <summary>Rows the source produced.</summary>
    public long In { get; init; }

    /// <summary>Rows rejected into the dead-letter output.</summary>
    public long DeadLetters { get; init; }

    /// <summary>Rows dropped on purpose (a filter), without a dead letter.</summary>
    public long Filtered { get; init; }

    /// <summary>Rows the sinks received.</summary>
    public long Out { get; init; }

    /// <summary>Rows read but not yet through the pipeline (0 once it has ended).</summary>
    public long InFlight { get; init; }

    /// <summary>True when <see cref="In"/> equals out + dead letters + filtered + in flight.</summary>
    public bool Reconciles => In == Out + DeadLetters + Filtered + InFlight;
}
