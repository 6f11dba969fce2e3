using System.Threading.Channels;
using StreamMl.Engine;

namespace StreamMl.Operators.Monitoring.Internal;

/// <summary>Turns queued alerts into rows of <see cref="AlertStream.Schema"/>. Alerts have no source position to
/// commit (they are recomputed from the data), so <see cref="Commit"/> does nothing.</summary>
internal sealed class AlertSource(string name, ChannelReader<Alert> alerts) : IBatchSource
{
    private SourceContext? _context;

    public string Name => name;

    public Schema Schema => AlertStream.Schema;

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _context = context;
        return ValueTask.CompletedTask;
    }

    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        bool more;
        using (_context?.WaitingForInput())
            more = await alerts.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        var row = 0;
        while (row < batch.Capacity && alerts.TryRead(out var alert)) Write(batch, row++, alert);
        batch.Length = row;
        return more;
    }

    private static void Write(ColumnBatch batch, int row, Alert alert)
    {
        SetString(batch[0], row, alert.Kind);
        SetString(batch[1], row, alert.Key);
        batch[2].Values<long>()[row] = alert.EventTime;
        SetString(batch[3], row, alert.Column);
        SetString(batch[4], row, alert.Detector);
        SetDouble(batch[5], row, alert.Statistic);
        SetDouble(batch[6], row, alert.Threshold);
        SetString(batch[7], row, alert.Severity.ToString().ToLowerInvariant());
        SetString(batch[8], row, alert.Message);
        SetString(batch[9], row, alert.Model);
        SetString(batch[10], row, alert.ModelVersion);
        SetString(batch[11], row, alert.Monitor);
        batch.EventTimesBuffer[row] = alert.EventTime;
        batch.RowOffsetsBuffer[row] = row;
        batch.RowPartitionsBuffer[row] = 0;
    }

    private static void SetString(Column column, int row, string value) => column.Values<int>()[row] = column.Dictionary!.GetOrAdd(value);

    private static void SetDouble(Column column, int row, double value)
    {
        if (double.IsNaN(value)) column.SetNull(row);
        else column.Values<double>()[row] = value;
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges) { }

    public string Describe(int partition, long offset) => $"alert {offset}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
