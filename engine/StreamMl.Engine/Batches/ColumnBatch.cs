using System.Runtime.CompilerServices;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine;

/// <summary>A fixed-capacity batch of rows held as columns in pooled, 64-byte aligned native memory.
/// Besides the schema's columns a batch carries each row's event time and source offset, a selection vector for
/// filtered rows, the watermark its source had reached, and the source ranges to commit once it is durable.
/// Batches are reused: rent them from a <see cref="BatchPool"/> (or live in a ring slot) and never keep a reference
/// after handing one back.</summary>
public sealed class ColumnBatch : IDisposable
{
    /// <summary>Rows per batch unless configured otherwise: large enough to amortise per-batch costs, small enough
    /// that a 32-feature float batch (512 KiB) stays in L2.</summary>
    public const int DefaultCapacity = 4096;

    /// <summary>Watermark value meaning "no event-time progress known".</summary>
    public const long NoWatermark = long.MinValue;

    private readonly Column[] _columns;
    private readonly NativeBuffer _eventTimes;
    private readonly NativeBuffer _rowOffsets;
    private readonly NativeBuffer _rowPartitions;
    private int _length;

    /// <summary>Allocates a batch for <paramref name="schema"/> with room for <paramref name="capacity"/> rows.</summary>
    public ColumnBatch(Schema schema, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Schema = schema;
        Capacity = capacity;
        _columns = new Column[schema.Count];
        for (var i = 0; i < schema.Count; i++) _columns[i] = new Column(schema[i], capacity);
        _eventTimes = new NativeBuffer(capacity * sizeof(long));
        _rowOffsets = new NativeBuffer(capacity * sizeof(long));
        _rowPartitions = new NativeBuffer(capacity * sizeof(int));
        Selection = new SelectionVector(capacity);
    }

    /// <summary>The columns' names and types.</summary>
    public Schema Schema { get; }

    /// <summary>Rows the batch can hold.</summary>
    public int Capacity { get; }

    /// <summary>Rows filled, from 0 to <see cref="Capacity"/>. Setting it selects every row.</summary>
    public int Length
    {
        get => _length;
        set
        {
            if ((uint)value > (uint)Capacity)
                ThrowHelper.ArgumentOutOfRange(nameof(value), $"a batch of capacity {Capacity} cannot hold {value} rows");
            _length = value;
            Selection.Reset(value);
        }
    }

    /// <summary>True when <see cref="Length"/> equals <see cref="Capacity"/>.</summary>
    public bool IsFull => _length == Capacity;

    /// <summary>Rows still live after filters; rows cleared here are skipped by later operators and sinks.</summary>
    public SelectionVector Selection { get; }

    /// <summary>The event-time watermark the source had reached when it produced the batch: it promises no later row
    /// will carry an event time at or below it (late rows are sent to a side output).</summary>
    public long Watermark { get; set; } = NoWatermark;

    /// <summary>Source ranges covered by the batch, committed by the pipeline once every sink has made it durable.</summary>
    public SourcePositions Positions { get; } = new();

    /// <summary>Set when an operator failed on this batch; later stages skip it and the error output has it.</summary>
    public bool Failed { get; set; }

    /// <summary>The pool the batch belongs to, or null for a batch owned by its creator.</summary>
    internal BatchPool? Pool { get; set; }

    internal bool Rented { get; set; }

    /// <summary>The column at <paramref name="index"/>.</summary>
    public Column this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>; throws when missing.</summary>
    public Column this[string name] => _columns[Schema.Require(name)];

    /// <summary>Event time of each row, UTC microseconds since the epoch (first <see cref="Length"/> rows).</summary>
    public Span<long> EventTimes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _eventTimes.AsSpan<long>()[.._length];
    }

    /// <summary>Source offset of each row (line number, byte offset, Kafka offset), for dead letters and replays.</summary>
    public Span<long> RowOffsets => _rowOffsets.AsSpan<long>()[.._length];

    /// <summary>Source partition of each row (file index, Kafka partition).</summary>
    public Span<int> RowPartitions => _rowPartitions.AsSpan<int>()[.._length];

    /// <summary>Event time buffer over the whole capacity, for sources filling rows one at a time.</summary>
    public Span<long> EventTimesBuffer => _eventTimes.AsSpan<long>();

    /// <summary>Row offset buffer over the whole capacity.</summary>
    public Span<long> RowOffsetsBuffer => _rowOffsets.AsSpan<long>();

    /// <summary>Row partition buffer over the whole capacity.</summary>
    public Span<int> RowPartitionsBuffer => _rowPartitions.AsSpan<int>();

    /// <summary>The first <see cref="Length"/> values of column <paramref name="column"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Values<T>(int column) where T : unmanaged => _columns[column].Values<T>()[.._length];

    /// <summary>Empties the batch for reuse: no rows, every row valid and selected, no positions, no watermark.</summary>
    public void Reset()
    {
        _length = 0;
        Selection.Reset(0);
        foreach (var column in _columns) column.Reset();
        Positions.Clear();
        Watermark = NoWatermark;
        Failed = false;
    }

    /// <summary>Copies row <paramref name="from"/> of <paramref name="source"/> (same schema) into the next free row;
    /// returns the new row's index. Used when rows must be gathered, e.g. into a dead-letter or window output.</summary>
    public int AppendRow(ColumnBatch source, int from)
    {
        if (_length == Capacity) ThrowHelper.InvalidOperation("batch is full");
        if (!ReferenceEquals(source.Schema, Schema) && !source.Schema.Equals(Schema))
            ThrowHelper.SchemaMismatch($"cannot copy a row of ({source.Schema}) into a batch of ({Schema})");
        var to = _length;
        for (var c = 0; c < _columns.Length; c++) _columns[c].CopyRow(source._columns[c], from, to);
        _eventTimes.AsSpan<long>()[to] = source._eventTimes.AsSpan<long>()[from];
        _rowOffsets.AsSpan<long>()[to] = source._rowOffsets.AsSpan<long>()[from];
        _rowPartitions.AsSpan<int>()[to] = source._rowPartitions.AsSpan<int>()[from];
        _length = to + 1;
        Selection.SetLength(_length);
        return to;
    }

    /// <summary>Moves the selected rows to the front, in order, and shrinks <see cref="Length"/> to their number.</summary>
    public void Compact()
    {
        if (Selection.AllSelected) return;
        var write = 0;
        for (var read = 0; read < _length; read++)
        {
            if (!Selection.IsSelected(read)) continue;
            if (write != read)
            {
                foreach (var column in _columns) column.CopyRow(column, read, write);
                _eventTimes.AsSpan<long>()[write] = _eventTimes.AsSpan<long>()[read];
                _rowOffsets.AsSpan<long>()[write] = _rowOffsets.AsSpan<long>()[read];
                _rowPartitions.AsSpan<int>()[write] = _rowPartitions.AsSpan<int>()[read];
            }
            write++;
        }
        Length = write;
    }

    /// <summary>A zero-copy Arrow view of the batch: numeric, timestamp and string-code buffers are shared, bool columns
    /// are bit-packed copies. The view is valid until the batch is reset or returned; filtered rows are included
    /// (call <see cref="Compact"/> first to drop them).</summary>
    public Apache.Arrow.RecordBatch ToRecordBatch() => ArrowInterop.ToRecordBatch(this);

    /// <summary>Replaces this batch's rows with a copy of <paramref name="recordBatch"/>'s, matching columns by name.</summary>
    public void CopyFrom(Apache.Arrow.RecordBatch recordBatch) => ArrowInterop.CopyInto(recordBatch, this);

    /// <summary>A new batch (not pooled) holding a copy of <paramref name="recordBatch"/>, with the schema it implies.</summary>
    public static ColumnBatch FromRecordBatch(Apache.Arrow.RecordBatch recordBatch, int? capacity = null)
    {
        var batch = new ColumnBatch(ArrowInterop.ToSchema(recordBatch.Schema), Math.Max(1, capacity ?? recordBatch.Length));
        batch.CopyFrom(recordBatch);
        return batch;
    }

    /// <summary>Frees the batch's native memory. Pooled batches are freed by their pool.</summary>
    public void Dispose()
    {
        foreach (var column in _columns) column.Dispose();
        _eventTimes.Dispose();
        _rowOffsets.Dispose();
        _rowPartitions.Dispose();
    }
}
