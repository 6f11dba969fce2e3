using StreamMl.Engine;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>A bounded in-memory source for pipeline tests: writes row i with a callback, gives it an event time, and
/// sets each batch's watermark to its newest event time minus a lag.</summary>
internal sealed class RowsSource(Schema schema, int rows, Action<ColumnBatch, int, int> write, Func<int, long> eventTime, long watermarkLag = 0)
    : IBatchSource
{
    private int _next;

    public string Name => "rows";

    public Schema Schema => schema;

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var count = Math.Min(batch.Capacity, rows - _next);
        var newest = long.MinValue;
        for (var i = 0; i < count; i++)
        {
            write(batch, i, _next + i);
            batch.EventTimesBuffer[i] = eventTime(_next + i);
            batch.RowOffsetsBuffer[i] = _next + i;
            newest = Math.Max(newest, batch.EventTimesBuffer[i]);
        }
        batch.Length = count;
        if (count > 0)
        {
            batch.Positions.Add(0, _next, _next + count);
            batch.Watermark = newest - watermarkLag;
        }
        _next += count;
        return ValueTask.FromResult(_next < rows);
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges) { }

    public string Describe(int partition, long offset) => $"row {offset}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
