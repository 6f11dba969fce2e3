using StreamMl.Engine;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Specs;

/// <summary>What a pipeline's ring takes: <c>ring_size</c> batches allocated up front, each of <c>batch_capacity</c>
/// rows of the pipeline's output schema in native memory. Per row that is each column's value (4 bytes for float32,
/// int32 and string codes, 8 for float64, int64 and timestamps, 1 for bool) and its validity bit, plus the batch's
/// event time (8), source offset (8) and partition (4) and a selection bit. Strings' dictionaries, the gRPC source's
/// staging queue and the Score chain come on top, but are small next to the ring of a spec that is too big.</summary>
internal sealed record MemoryEstimate(double Bytes, double BytesPerRow, int Columns, int BatchCapacity, int RingSize)
{
    /// <summary>Bytes per row the batch itself keeps whatever the schema: event time, offset, partition, selection bit.</summary>
    public const double RowOverhead = 8 + 8 + 4 + 1.0 / 8;

    /// <summary>The estimate for <paramref name="spec"/> whose operators produce <paramref name="schema"/>.</summary>
    public static MemoryEstimate Of(CompiledSpec spec, Schema schema)
    {
        var perRow = RowOverhead + schema.Sum(f => ColumnTypes.SizeOf(f.Type) + 1.0 / 8);
        return new MemoryEstimate((double)spec.RingSize * spec.BatchCapacity * perRow, perRow, schema.Count, spec.BatchCapacity, spec.RingSize);
    }

    /// <summary>The spec error when the pipeline alone does not fit <paramref name="budget"/>, at the position of
    /// the options that size it; null when it fits.</summary>
    public SpecError? Check(CompiledSpec spec, long budget) =>
        Bytes <= budget ? null : new SpecError(spec.SizeLine, spec.SizeColumn, $"{Describe()}, over the host's memory budget of {MemoryBudget.Format(budget)}: " +
            $"lower options.batch_capacity or options.ring_size, or raise the budget (--memory-budget, {MemoryBudget.EnvironmentVariable})");

    /// <summary>"options.ring_size 65,536 × options.batch_capacity 1,048,576 rows × 41 bytes per row (5 columns) = 2.6 TiB".</summary>
    public string Describe() =>
        $"the pipeline's ring needs about {MemoryBudget.Format(Bytes)}: options.ring_size {RingSize:N0} batches × options.batch_capacity {BatchCapacity:N0} rows × " +
        $"{BytesPerRow:0.#} bytes per row ({Columns} column(s))";
}
