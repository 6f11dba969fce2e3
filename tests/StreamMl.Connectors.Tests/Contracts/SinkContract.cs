using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>What every <see cref="IBatchSink"/> promises, checked against each implementation by reading its output
/// back with a reader StreamMl did not write: it writes exactly the selected rows with their values, it never changes
/// the batch it shares with sibling sinks, and once it reports a batch durable the batch's rows can be read.</summary>
public abstract class SinkContract(ITestOutputHelper output)
{
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>A sink writing to a fresh target; a missing service skips the test (fails it in CI) through
    /// <see cref="Delivery.TestServices"/>. Buffering sinks are configured so that a flush makes what they hold
    /// durable (a Parquet sink publishes on flush).</summary>
    protected abstract Task<IBatchSink> CreateSinkAsync();

    /// <summary>Every record in the sink's target, read with an independent reader.</summary>
    protected abstract Task<IReadOnlyList<ContractRecord>> ReadBackAsync();

    private static bool Deselected(long id) => id % 5 == 3;

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public async Task Writes_exactly_the_selected_rows_with_their_values(int capacity)
    {
        var records = ContractRecord.Range(capacity == 1 ? 40 : 200);
        var sink = await CreateSinkAsync();
        await WriteAllAsync(sink, records, capacity);

        var expected = records.Where(r => !Deselected(r.Id)).OrderBy(r => r.Id);
        Assert.Equal(expected, (await ReadBackAsync()).OrderBy(r => r.Id));
    }

    [SkippableFact]
    public async Task Never_changes_the_batch_it_shares_with_other_sinks()
    {
        var sink = await CreateSinkAsync();
        await sink.OpenAsync(SinkContext.Standalone(ContractRecord.Schema), CancellationToken.None);
        using var batch = new ColumnBatch(ContractRecord.Schema, 64);
        ContractRecord.Fill(batch, ContractRecord.Range(64).ToArray());
        for (var row = 0; row < 64; row++) if (Deselected(row)) batch.Selection.Deselect(row);
        var before = Snapshot(batch);
        sink.Write(batch, 0);
        sink.Flush();
        Assert.Equal(before, Snapshot(batch));
        await sink.DisposeAsync();
    }

    [SkippableFact]
    public async Task Rows_of_a_batch_reported_durable_can_be_read_back()
    {
        var sink = await CreateSinkAsync();
        var durable = -1L;
        await sink.OpenAsync(SinkContext.Standalone(ContractRecord.Schema, s => Volatile.Write(ref durable, s)), CancellationToken.None);
        using var batch = new ColumnBatch(ContractRecord.Schema, 50);
        var records = ContractRecord.Range(150).ToArray();
        for (var sequence = 0; sequence < 3; sequence++)
        {
            batch.Reset();
            ContractRecord.Fill(batch, records.AsSpan(sequence * 50, 50));
            sink.Write(batch, sequence);
            if (sink.DurableOnWrite) durable = sequence; // the pipeline counts a durable-on-write batch at once
        }
        if (!sink.DurableOnWrite) sink.Flush();
        Assert.Equal(2, Volatile.Read(ref durable));

        // Read while the sink is still open: durable must not wait for close.
        Assert.Equal(records.OrderBy(r => r.Id), (await ReadBackAsync()).OrderBy(r => r.Id));
        await sink.DisposeAsync();
    }

    private static async Task WriteAllAsync(IBatchSink sink, IReadOnlyList<ContractRecord> records, int capacity)
    {
        await sink.OpenAsync(SinkContext.Standalone(ContractRecord.Schema), CancellationToken.None);
        using var batch = new ColumnBatch(ContractRecord.Schema, capacity);
        var all = records.ToArray();
        var sequence = 0L;
        for (var start = 0; start < all.Length; start += capacity)
        {
            batch.Reset();
            ContractRecord.Fill(batch, all.AsSpan(start, Math.Min(capacity, all.Length - start)));
            for (var row = 0; row < batch.Length; row++)
                if (Deselected(all[start + row].Id)) batch.Selection.Deselect(row);
            sink.Write(batch, sequence++);
        }
        sink.Flush();
        await sink.DisposeAsync();
    }

    private static string Snapshot(ColumnBatch batch)
    {
        var rows = Enumerable.Range(0, batch.Length).Select(row =>
            $"{batch.Selection.IsSelected(row)}:{ContractRecord.Read(batch, row)}:{batch.EventTimes[row]}:{batch.RowOffsets[row]}");
        var ranges = batch.Positions.Ranges.ToArray().Select(r => r.ToString());
        return $"{batch.Length}|{batch.Watermark}|{string.Join(";", rows)}|{string.Join(";", ranges)}";
    }
}
