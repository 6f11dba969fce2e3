using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>What every <see cref="IBatchSource"/> promises, checked against each implementation with its real
/// backing system: every record arrives once with its values, batches respect their capacity, each row's position
/// is inside the batch's source ranges and ranges only move forward within a partition, and positions can be
/// described. A derived class seeds <see cref="ContractRecord"/>s into the system and builds the source.</summary>
public abstract class SourceContract(ITestOutputHelper output)
{
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>Records written per test.</summary>
    protected virtual int RecordCount => 300;

    /// <summary>Writes the records where the source will read them. A missing service skips the test (fails it in
    /// CI) through <see cref="Delivery.TestServices"/>.</summary>
    protected abstract Task SeedAsync(IReadOnlyList<ContractRecord> records);

    /// <summary>A source over the seeded records. Called again for a restart: the same identity (group, client id,
    /// checkpoint file) so it resumes where the last one committed.</summary>
    protected abstract IBatchSource CreateSource();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(256)]
    public async Task Every_record_arrives_once_with_its_values_in_batches_within_capacity(int capacity)
    {
        var records = ContractRecord.Range(capacity == 1 ? 60 : RecordCount);
        await SeedAsync(records);
        var read = await SourceReader.ReadAsync(CreateSource(), capacity, records.Count);

        Assert.All(read.Batches, b => Assert.InRange(b.Rows.Count, 0, capacity));
        Assert.Empty(read.DeadLetters);
        Assert.Equal(records.OrderBy(r => r.Id), read.Rows.Select(r => r.Record).OrderBy(r => r.Id));
    }

    [SkippableFact]
    public async Task Each_row_lies_inside_its_batch_ranges_and_ranges_move_forward_per_partition()
    {
        var records = ContractRecord.Range(RecordCount);
        await SeedAsync(records);
        var read = await SourceReader.ReadAsync(CreateSource(), 32, records.Count);

        var ends = new Dictionary<int, long>();
        foreach (var batch in read.Batches)
        {
            foreach (var row in batch.Rows)
                Assert.Contains(batch.Ranges, r => r.Partition == row.Partition && r.Start <= row.Offset && row.Offset < r.End);
            foreach (var range in batch.Ranges)
            {
                Assert.True(range.Start < range.End, $"empty range {range}");
                Assert.True(range.Start >= ends.GetValueOrDefault(range.Partition, long.MinValue),
                    $"partition {range.Partition} went back: {range} after end {ends.GetValueOrDefault(range.Partition)}");
                ends[range.Partition] = range.End;
            }
        }
        Assert.Equal(records.Count, read.Rows.Select(r => (r.Partition, r.Offset)).Distinct().Count());
    }

    [SkippableFact]
    public async Task Describe_names_each_position_distinctly()
    {
        var records = ContractRecord.Range(20);
        await SeedAsync(records);
        var source = CreateSource();
        var read = await SourceReader.ReadAsync(source, 64, records.Count, keepOpen: true);
        try
        {
            var descriptions = read.Rows.Take(10).Select(r => source.Describe(r.Partition, r.Offset)).ToList();
            Output.WriteLine(string.Join("\n", descriptions));
            Assert.All(descriptions, d => Assert.False(string.IsNullOrWhiteSpace(d)));
            Assert.Equal(descriptions.Count, descriptions.Distinct().Count());
        }
        finally
        {
            await source.DisposeAsync();
        }
    }
}

/// <summary>Sources that keep their committed position across a restart (Kafka groups, database cursors, MQTT
/// persistent sessions, checkpoint files).</summary>
public abstract class ResumableSourceContract(ITestOutputHelper output) : SourceContract(output)
{
    [SkippableFact]
    public async Task A_restarted_source_resumes_after_the_committed_positions_and_loses_nothing()
    {
        var records = ContractRecord.Range(RecordCount);
        await SeedAsync(records);

        var first = await SourceReader.ReadAsync(CreateSource(), 16, records.Count / 2, commit: true);
        var committed = first.Rows.Select(r => r.Record.Id).ToHashSet();
        Assert.InRange(committed.Count, records.Count / 2, records.Count);
        var second = await SourceReader.ReadAsync(CreateSource(), 16, records.Count - committed.Count);
        Output.WriteLine($"first run: {first.Rows.Count} rows in {first.Batches.Count} batches, ids {committed.Min()}..{committed.Max()}; " +
            $"second run: {second.Rows.Count} rows, ids {string.Join(",", second.Rows.Take(20).Select(r => r.Record.Id))}...");

        // Nothing committed comes back, and together the two runs hold every record.
        Assert.Empty(second.Rows.Where(r => committed.Contains(r.Record.Id)).Select(r => r.Record.Id));
        Assert.Equal(records.Select(r => r.Id).Order(), committed.Concat(second.Rows.Select(r => r.Record.Id)).Distinct().Order());
    }
}

/// <summary>Drives a source without a pipeline, keeping what every batch held.</summary>
internal static class SourceReader
{
    public sealed record Row(ContractRecord Record, int Partition, long Offset);

    public sealed record Batch(List<Row> Rows, List<SourceRange> Ranges);

    public sealed record Result(List<Batch> Batches, List<Row> Rows, List<DeadLetter> DeadLetters);

    /// <summary>Fills batches until the source ends or <paramref name="expected"/> rows arrived (30 s at most). With
    /// <paramref name="commit"/>, commits every batch read, as a pipeline does once its sinks are durable.</summary>
    public static async Task<Result> ReadAsync(IBatchSource source, int capacity, int expected, bool commit = false, bool keepOpen = false)
    {
        var deadLetters = new CollectingDeadLetterSink();
        await source.OpenAsync(new SourceContext("contract", deadLetters), CancellationToken.None);
        var batches = new List<Batch>();
        var rows = new List<Row>();
        try
        {
            using var batch = new ColumnBatch(source.Schema, capacity);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var more = true;
            while (more && rows.Count < expected && DateTime.UtcNow < deadline)
            {
                batch.Reset();
                more = await source.FillAsync(batch, CancellationToken.None);
                var batchRows = new List<Row>();
                for (var row = 0; row < batch.Length; row++)
                {
                    if (!batch.Selection.IsSelected(row)) continue;
                    batchRows.Add(new Row(ContractRecord.Read(batch, row), batch.RowPartitions[row], batch.RowOffsets[row]));
                }
                var ranges = batch.Positions.Ranges.ToArray().ToList();
                if (batchRows.Count > 0 || ranges.Count > 0) batches.Add(new Batch(batchRows, ranges));
                rows.AddRange(batchRows);
                if (commit && ranges.Count > 0) source.Commit(ranges.ToArray());
            }
        }
        finally
        {
            if (!keepOpen) await source.DisposeAsync();
        }
        return new Result(batches, rows, [.. deadLetters.Letters]);
    }
}
