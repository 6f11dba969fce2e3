using Apache.Arrow;
using Apache.Arrow.Types;
using ArrowSchema = Apache.Arrow.Schema;
using ArrowField = Apache.Arrow.Field;

namespace StreamMl.Engine;

/// <summary>Conversions between <see cref="ColumnBatch"/> and Arrow record batches.</summary>
internal static class ArrowInterop
{
    private static readonly TimestampType s_timestampType = new(TimeUnit.Microsecond, "UTC");
    private static readonly DictionaryType s_stringDictionaryType = new(Int32Type.Default, StringType.Default, false);

    public static IArrowType ToArrowType(ColumnType type) => type switch
    {
        ColumnType.Float32 => FloatType.Default,
        ColumnType.Float64 => DoubleType.Default,
        ColumnType.Int32 => Int32Type.Default,
        ColumnType.Int64 => Int64Type.Default,
        ColumnType.Bool => BooleanType.Default,
        ColumnType.Timestamp => s_timestampType,
        ColumnType.String => s_stringDictionaryType,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static ArrowSchema ToArrowSchema(Schema schema) =>
        new(schema.Select(f => new ArrowField(f.Name, ToArrowType(f.Type), f.Nullable)), null);

    public static Schema ToSchema(ArrowSchema schema) =>
        new(schema.FieldsList.Select(f => new Field(f.Name, FromArrowType(f.DataType, f.Name), f.IsNullable)));

    public static ColumnType FromArrowType(IArrowType type, string name) => type switch
    {
        FloatType => ColumnType.Float32,
        DoubleType => ColumnType.Float64,
        Int32Type => ColumnType.Int32,
        Int64Type => ColumnType.Int64,
        BooleanType => ColumnType.Bool,
        TimestampType => ColumnType.Timestamp,
        StringType or LargeStringType => ColumnType.String,
        DictionaryType { ValueType: StringType } => ColumnType.String,
        _ => throw new SchemaMismatchException(
            $"Arrow column '{name}' has type {type.Name}, which StreamMl does not hold; cast it to float32, float64, int32, int64, bool, timestamp or string"),
    };

    public static RecordBatch ToRecordBatch(ColumnBatch batch)
    {
        var length = batch.Length;
        var arrays = new IArrowArray[batch.Schema.Count];
        for (var i = 0; i < arrays.Length; i++) arrays[i] = ToArray(batch[i], length);
        return new RecordBatch(ToArrowSchema(batch.Schema), arrays, length);
    }

    private static IArrowArray ToArray(Column column, int length)
    {
        var nullCount = column.NullCount(length);
        var validity = nullCount == 0
            ? ArrowBuffer.Empty
            : new ArrowBuffer(column.ValidityBuffer.Memory[..Column.BitmapBytes(length)]);
        switch (column.Type)
        {
            case ColumnType.Bool:
                {
                    var values = column.Values<byte>()[..length];
                    var bits = new byte[Column.BitmapBytes(length)];
                    for (var row = 0; row < length; row++)
                        if (values[row] != 0) bits[row >> 3] |= (byte)(1 << (row & 7));
                    var data = new ArrayData(BooleanType.Default, length, nullCount, 0, [validity, new ArrowBuffer(bits)]);
                    return new BooleanArray(data);
                }
            case ColumnType.String:
                {
                    var indices = new Int32Array(new ArrayData(Int32Type.Default, length, nullCount, 0,
                        [validity, new ArrowBuffer(column.ValueBuffer.Memory[..(length * sizeof(int))])]));
                    var dictionary = new StringArray.Builder().AppendRange(column.Dictionary!.Values).Build();
                    return new DictionaryArray(s_stringDictionaryType, indices, dictionary);
                }
            default:
                {
                    var bytes = length * ColumnTypes.SizeOf(column.Type);
                    var data = new ArrayData(ToArrowType(column.Type), length, nullCount, 0,
                        [validity, new ArrowBuffer(column.ValueBuffer.Memory[..bytes])]);
                    return ArrowArrayFactory.BuildArray(data);
                }
        }
    }

    public static void CopyInto(RecordBatch source, ColumnBatch target)
    {
        if (source.Length > target.Capacity)
            throw new SchemaMismatchException($"an Arrow batch of {source.Length} rows does not fit a batch of capacity {target.Capacity}");
        target.Reset();
        target.Length = source.Length;
        for (var c = 0; c < target.Schema.Count; c++)
        {
            var field = target.Schema[c];
            var index = source.Schema.GetFieldIndex(field.Name);
            if (index < 0)
                throw new SchemaMismatchException(
                    $"Arrow batch has no column '{field.Name}'; it has: {string.Join(", ", source.Schema.FieldsList.Select(f => f.Name))}");
            CopyColumn(source.Column(index), target[c], source.Length);
        }
    }

    private static void CopyColumn(IArrowArray array, Column column, int length) => CopyRows(array, 0, column, 0, length);

    /// <summary>Copies <paramref name="count"/> rows of <paramref name="array"/> from row <paramref name="from"/> into
    /// <paramref name="column"/> from row <paramref name="to"/>, widening float32 to float64 and int32 to int64 and
    /// converting any timestamp unit to microseconds.</summary>
    public static void CopyRows(IArrowArray array, int from, Column column, int to, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (array.IsNull(from + i)) column.SetNull(to + i);
            else column.SetValid(to + i);
        }
        switch (column.Type, array)
        {
            case (ColumnType.Float32, FloatArray a): a.Values.Slice(from, count).CopyTo(column.Values<float>()[to..]); break;
            case (ColumnType.Float64, DoubleArray a): a.Values.Slice(from, count).CopyTo(column.Values<double>()[to..]); break;
            case (ColumnType.Int32, Int32Array a): a.Values.Slice(from, count).CopyTo(column.Values<int>()[to..]); break;
            case (ColumnType.Int64, Int64Array a): a.Values.Slice(from, count).CopyTo(column.Values<long>()[to..]); break;
            case (ColumnType.Float32, DoubleArray a): Convert(a.Values.Slice(from, count), column.Values<float>()[to..], v => (float)v); break;
            case (ColumnType.Float64, FloatArray a): Convert(a.Values.Slice(from, count), column.Values<double>()[to..], v => v); break;
            case (ColumnType.Int64, Int32Array a): Convert(a.Values.Slice(from, count), column.Values<long>()[to..], v => v); break;
            case (ColumnType.Bool, BooleanArray a):
                {
                    var values = column.Values<byte>();
                    for (var i = 0; i < count; i++) values[to + i] = a.GetValue(from + i) == true ? (byte)1 : (byte)0;
                    break;
                }
            case (ColumnType.Timestamp, TimestampArray a):
                {
                    var unit = ((TimestampType)a.Data.DataType).Unit;
                    var values = column.Values<long>();
                    var raw = a.Values;
                    for (var i = 0; i < count; i++) values[to + i] = ToMicros(raw[from + i], unit);
                    break;
                }
            case (ColumnType.String, StringArray a):
                {
                    var codes = column.Values<int>();
                    for (var i = 0; i < count; i++)
                        codes[to + i] = a.IsNull(from + i) ? 0 : column.Dictionary!.GetOrAdd(a.GetString(from + i));
                    break;
                }
            case (ColumnType.String, DictionaryArray a) when a.Dictionary is StringArray dictionary:
                {
                    var codes = column.Values<int>();
                    var map = new int[dictionary.Length];
                    for (var d = 0; d < map.Length; d++) map[d] = column.Dictionary!.GetOrAdd(dictionary.GetString(d));
                    for (var i = 0; i < count; i++)
                        codes[to + i] = a.IsNull(from + i) ? 0 : map[IndexAt(a.Indices, from + i)];
                    break;
                }
            default:
                throw new SchemaMismatchException(
                    $"column '{column.Field.Name}' is {ColumnTypes.Name(column.Type)} but the Arrow array is {array.Data.DataType.Name}");
        }
    }

    private static void Convert<TFrom, TTo>(ReadOnlySpan<TFrom> source, Span<TTo> target, Func<TFrom, TTo> convert)
    {
        for (var i = 0; i < source.Length; i++) target[i] = convert(source[i]);
    }

    private static int IndexAt(IArrowArray indices, int row) => indices switch
    {
        Int32Array a => a.Values[row],
        Int8Array a => a.Values[row],
        Int16Array a => a.Values[row],
        Int64Array a => checked((int)a.Values[row]),
        UInt8Array a => a.Values[row],
        UInt16Array a => a.Values[row],
        UInt32Array a => checked((int)a.Values[row]),
        _ => throw new SchemaMismatchException($"dictionary indices of type {indices.Data.DataType.Name} are not supported"),
    };

    private static long ToMicros(long value, TimeUnit unit) => unit switch
    {
        TimeUnit.Second => value * 1_000_000,
        TimeUnit.Millisecond => value * 1_000,
        TimeUnit.Microsecond => value,
        TimeUnit.Nanosecond => value / 1_000,
        _ => throw new ArgumentOutOfRangeException(nameof(unit)),
    };
}
