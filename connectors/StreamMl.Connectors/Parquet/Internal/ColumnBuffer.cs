using System.Buffers;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
using StreamMl.Engine;

namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>One column of a row group being built: non-null values packed densely plus a definition level per row
/// (1 = value, 0 = null), the layout Parquet stores, so writing needs no per-row objects or nullable wrappers.</summary>
internal abstract class ColumnBuffer(DataField field, int batchColumn, int capacity)
{
    // Buffers start at one batch and double up to the row-group size, so a small file does not pay for a full row
    // group of every column; they come from the shared array pool and go back when the sink is disposed, because
    // buffers of a row group are large-object-heap arrays: allocated afresh per sink they cost a gen-2 collection per
    // file in the benchmark (20 MB allocated per run of the credit file).
    protected int[] DefinitionLevels = ArrayPool<int>.Shared.Rent(Math.Min(capacity, ColumnBatch.DefaultCapacity));
    protected int ValueCount;
    protected int RowCount;

    /// <summary>Makes room for <paramref name="more"/> rows.</summary>
    protected void Reserve(int more)
    {
        var needed = RowCount + more;
        if (needed <= DefinitionLevels.Length) return;
        var size = Math.Min(Math.Max(needed, DefinitionLevels.Length * 2), Math.Max(needed, capacity));
        DefinitionLevels = Grow(DefinitionLevels, RowCount, size);
        GrowValues(size);
    }

    protected abstract void GrowValues(int size);

    /// <summary>A pooled array of at least <paramref name="size"/> holding the first <paramref name="keep"/> items of
    /// <paramref name="array"/>, which goes back to the pool.</summary>
    protected static T[] Grow<T>(T[] array, int keep, int size)
    {
        var grown = ArrayPool<T>.Shared.Rent(size);
        array.AsSpan(0, keep).CopyTo(grown);
        Return(array);
        return grown;
    }

    private static void Return<T>(T[] array)
    {
        if (array.Length > 0) ArrayPool<T>.Shared.Return(array, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
    }

    /// <summary>Gives the buffers back to the pool; the buffer is empty and grows again if used.</summary>
    public void Release()
    {
        Return(DefinitionLevels);
        DefinitionLevels = [];
        ReleaseValues();
        Clear();
    }

    protected abstract void ReleaseValues();

    public DataField Field { get; } = field;
    public int BatchColumn { get; } = batchColumn;

    /// <summary>The Parquet field of an engine field: timestamps as UTC microsecond timestamps, strings as UTF-8.</summary>
    public static DataField CreateField(StreamMl.Engine.Field field) => field.Type switch
    {
        ColumnType.Float32 => new DataField<float>(field.Name, field.Nullable),
        ColumnType.Float64 => new DataField<double>(field.Name, field.Nullable),
        ColumnType.Int32 => new DataField<int>(field.Name, field.Nullable),
        ColumnType.Int64 => new DataField<long>(field.Name, field.Nullable),
        ColumnType.Bool => new DataField<bool>(field.Name, field.Nullable),
        ColumnType.Timestamp => new DateTimeDataField(field.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: field.Nullable),
        ColumnType.String => new DataField<string>(field.Name, field.Nullable),
        ColumnType.Binary => new DataField<byte[]>(field.Name, field.Nullable),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field.Type, "unknown column type"),
    };

    /// <summary>A buffer for <paramref name="field"/>, which must belong to the schema of the file being written.</summary>
    public static ColumnBuffer Create(ColumnType type, DataField field, int batchColumn, int capacity) => type switch
    {
        ColumnType.Float32 => new Numeric<float>(field, batchColumn, capacity),
        ColumnType.Float64 => new Numeric<double>(field, batchColumn, capacity),
        ColumnType.Int32 => new Numeric<int>(field, batchColumn, capacity),
        ColumnType.Int64 => new Numeric<long>(field, batchColumn, capacity),
        ColumnType.Bool => new Bools(field, batchColumn, capacity),
        ColumnType.Timestamp => new Timestamps(field, batchColumn, capacity),
        ColumnType.String => new Strings(field, batchColumn, capacity),
        ColumnType.Binary => new Blobs(field, batchColumn, capacity),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown column type"),
    };

    /// <summary>Appends rows <paramref name="rows"/> of the batch column; <paramref name="contiguous"/> says they are
    /// <c>rows[0], rows[0]+1, ...</c>, which allows a block copy.</summary>
    public abstract void Append(Column column, ReadOnlySpan<int> rows, bool contiguous);

    public abstract Task WriteAsync(ParquetRowGroupWriter writer);

    public void Clear()
    {
        ValueCount = 0;
        RowCount = 0;
    }

    protected ReadOnlyMemory<int>? Levels => Field.IsNullable ? DefinitionLevels.AsMemory(0, RowCount) : null;

    protected void CheckNotNull(Column column, int row)
    {
        if (!Field.IsNullable)
            throw new SchemaMismatchException($"column '{Field.Name}' is declared not nullable but row {row} of a batch is null");
    }

    /// <summary>Turns one engine value into the value Parquet.Net writes. Implemented by structs, so the per-row call in
    /// <see cref="Values{TSource, TValue, TConvert}.Append"/> is resolved when the JIT specialises it.</summary>
    private interface IValueConverter<TSource, TValue>
    {
        static abstract TValue Convert(TSource value);
    }

    private readonly struct Same<T> : IValueConverter<T, T>
    {
        public static T Convert(T value) => value;
    }

    private readonly struct ByteToBool : IValueConverter<byte, bool>
    {
        public static bool Convert(byte value) => value != 0;
    }

    private readonly struct MicrosToDateTime : IValueConverter<long, DateTime>
    {
        public static DateTime Convert(long value) => new(DateTime.UnixEpoch.Ticks + value * 10, DateTimeKind.Utc);
    }

    private sealed class Numeric<T>(DataField field, int batchColumn, int capacity) : Values<T, T, Same<T>>(field, batchColumn, capacity)
        where T : unmanaged;

    private sealed class Bools(DataField field, int batchColumn, int capacity) : Values<byte, bool, ByteToBool>(field, batchColumn, capacity);

    private sealed class Timestamps(DataField field, int batchColumn, int capacity) : Values<long, DateTime, MicrosToDateTime>(field, batchColumn, capacity);

    /// <summary>Non-null values packed densely, converted from the engine's representation; a block copy when no
    /// conversion is needed and the rows are contiguous and non-null.</summary>
    private abstract class Values<TSource, TValue, TConvert>(DataField field, int batchColumn, int capacity) : ColumnBuffer(field, batchColumn, capacity)
        where TSource : unmanaged
        where TValue : struct
        where TConvert : struct, IValueConverter<TSource, TValue>
    {
        private TValue[] _values = ArrayPool<TValue>.Shared.Rent(Math.Min(capacity, ColumnBatch.DefaultCapacity));

        protected override void GrowValues(int size) => _values = Grow(_values, ValueCount, size);

        protected override void ReleaseValues()
        {
            Return(_values);
            _values = [];
        }

        public override void Append(Column column, ReadOnlySpan<int> rows, bool contiguous)
        {
            Reserve(rows.Length);
            var source = column.Values<TSource>();
            if (typeof(TConvert) == typeof(Same<TSource>) && contiguous && !column.MayHaveNulls)
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<TSource, byte>(source.Slice(rows[0], rows.Length))
                    .CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_values.AsSpan(ValueCount)));
                DefinitionLevels.AsSpan(RowCount, rows.Length).Fill(1);
                ValueCount += rows.Length;
                RowCount += rows.Length;
                return;
            }
            foreach (var row in rows)
            {
                if (column.IsValid(row))
                {
                    _values[ValueCount++] = TConvert.Convert(source[row]);
                    DefinitionLevels[RowCount++] = 1;
                }
                else
                {
                    CheckNotNull(column, row);
                    DefinitionLevels[RowCount++] = 0;
                }
            }
        }

        public override Task WriteAsync(ParquetRowGroupWriter writer) =>
            Field.IsNullable
                ? writer.WriteAllPartsAsync(Field, (ReadOnlyMemory<TValue>)_values.AsMemory(0, ValueCount), Levels, null, CancellationToken.None)
                // Without definition levels WriteAllPartsAsync counts zero rows; the plain overload counts the values.
                : writer.WriteAsync(Field, (ReadOnlyMemory<TValue>)_values.AsMemory(0, ValueCount), null, null, CancellationToken.None);
    }

    /// <summary>Strings are stored as references to the batch dictionary's own string objects: no copy per row. Parquet.Net
    /// takes strings as a collection with nulls in place, so this buffer holds one entry per row.</summary>
    private sealed class Strings(DataField field, int batchColumn, int capacity) : ColumnBuffer(field, batchColumn, capacity)
    {
        private string?[] _values = ArrayPool<string?>.Shared.Rent(Math.Min(capacity, ColumnBatch.DefaultCapacity));

        protected override void GrowValues(int size) => _values = Grow(_values, RowCount, size);

        protected override void ReleaseValues()
        {
            Return(_values);
            _values = [];
        }

        public override void Append(Column column, ReadOnlySpan<int> rows, bool contiguous)
        {
            Reserve(rows.Length);
            var source = column.Values<int>();
            var dictionary = column.Dictionary!;
            foreach (var row in rows)
            {
                if (column.IsValid(row))
                {
                    _values[RowCount++] = dictionary[source[row]];
                }
                else
                {
                    CheckNotNull(column, row);
                    _values[RowCount++] = null;
                }
            }
        }

        public override Task WriteAsync(ParquetRowGroupWriter writer) =>
            writer.WriteAsync(Field, new ArraySegment<string>(_values!, 0, RowCount), null);
    }

    /// <summary>Binary values (encoded images): each row's bytes are copied out of the batch's arena, as a byte array.</summary>
    private sealed class Blobs(DataField field, int batchColumn, int capacity) : ColumnBuffer(field, batchColumn, capacity)
    {
        private byte[]?[] _values = ArrayPool<byte[]?>.Shared.Rent(Math.Min(capacity, ColumnBatch.DefaultCapacity));

        protected override void GrowValues(int size) => _values = Grow(_values, RowCount, size);

        protected override void ReleaseValues()
        {
            Return(_values);
            _values = [];
        }

        public override void Append(Column column, ReadOnlySpan<int> rows, bool contiguous)
        {
            Reserve(rows.Length);
            foreach (var row in rows)
            {
                if (column.IsValid(row))
                {
                    _values[RowCount++] = column.GetBytes(row).ToArray();
                }
                else
                {
                    CheckNotNull(column, row);
                    _values[RowCount++] = null;
                }
            }
        }

        public override Task WriteAsync(ParquetRowGroupWriter writer) =>
            writer.WriteAsync(Field, new ArraySegment<byte[]>(_values!, 0, RowCount), null);
    }
}
