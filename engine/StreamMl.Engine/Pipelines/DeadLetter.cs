using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace StreamMl.Engine;

/// <summary>A row or record that was rejected, with where it came from and why.</summary>
/// <param name="Pipeline">Pipeline name.</param>
/// <param name="Stage">Stage (source, operator) that rejected it.</param>
/// <param name="Rule">The rule that failed, e.g. <c>range</c>, <c>required</c>, <c>parse</c>, <c>late</c>.</param>
/// <param name="Message">What was wrong, naming the field.</param>
/// <param name="Location">Where: file and line, topic and offset, RPC.</param>
/// <param name="Partition">Source partition.</param>
/// <param name="Offset">Source offset (line, byte offset, Kafka offset).</param>
/// <param name="Raw">The raw text of the record, or the row's values when no raw text is left.</param>
public sealed record DeadLetter(
    string Pipeline, string Stage, string Rule, string Message, string Location, int Partition, long Offset, string Raw)
{
    /// <summary>A row's values as <c>name=value</c> pairs, for dead letters of rows that were parsed.</summary>
    public static string FormatRow(ColumnBatch batch, int row)
    {
        var text = new StringBuilder();
        for (var c = 0; c < batch.Schema.Count; c++)
        {
            if (c > 0) text.Append(", ");
            var column = batch[c];
            text.Append(column.Field.Name).Append('=');
            if (!column.IsValid(row)) { text.Append("null"); continue; }
            text.Append(column.Type switch
            {
                ColumnType.Float32 => column.Values<float>()[row].ToString("R", CultureInfo.InvariantCulture),
                ColumnType.Float64 => column.Values<double>()[row].ToString("R", CultureInfo.InvariantCulture),
                ColumnType.Int32 => column.Values<int>()[row].ToString(CultureInfo.InvariantCulture),
                ColumnType.Int64 => column.Values<long>()[row].ToString(CultureInfo.InvariantCulture),
                ColumnType.Bool => column.Values<byte>()[row] != 0 ? "true" : "false",
                ColumnType.Timestamp => DateTime.UnixEpoch.AddTicks(column.Values<long>()[row] * 10).ToString("O", CultureInfo.InvariantCulture),
                // A later stage's string column holds no code yet when an earlier stage rejects the row.
                ColumnType.String => (uint)column.Values<int>()[row] < (uint)column.Dictionary!.Count ? column.Dictionary[column.Values<int>()[row]] : "",
                _ => "?",
            });
        }
        return text.ToString();
    }
}

/// <summary>Receives rejected rows. Called from any stage thread; implementations must be thread-safe.</summary>
public interface IDeadLetterSink
{
    /// <summary>Records one rejected row.</summary>
    void Write(DeadLetter deadLetter);

    /// <summary>Rows received so far.</summary>
    long Count { get; }

    /// <summary>Makes every letter received so far durable. The pipeline calls it before it commits source positions,
    /// so a rejected row's position is never committed while its letter could still be lost. The default does nothing
    /// (right for sinks that write through).</summary>
    void Flush() { }
}

/// <summary>Keeps dead letters in memory; the default when a pipeline names no dead-letter sink, and handy in tests.</summary>
public sealed class CollectingDeadLetterSink : IDeadLetterSink
{
    private readonly ConcurrentQueue<DeadLetter> _letters = new();
    private long _count;

    /// <inheritdoc/>
    public void Write(DeadLetter deadLetter)
    {
        _letters.Enqueue(deadLetter);
        Interlocked.Increment(ref _count);
    }

    /// <inheritdoc/>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>The letters received, oldest first.</summary>
    public IReadOnlyList<DeadLetter> Letters => [.. _letters];
}
