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
        ColumnType.Binary => BinaryType.Default,
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
        Int32Type or Int8Type or Int16Type or UInt8Type or UInt16Type => ColumnType.Int32,
        Int64Type or UInt32Type or UInt64Type => ColumnType.Int64,
        BooleanType => ColumnType.Bool,
        TimestampType or Date32Type or Date64Type => ColumnType.Timestamp,
        StringType or LargeStringType or StringViewType => ColumnType.String,
        DictionaryType { ValueType: StringType or LargeStringType or StringViewType } => ColumnType.String,
        BinaryType or LargeBinaryType or BinaryViewType => ColumnType.Binary,
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
            case ColumnType.Binary:
                {
                    var builder = new BinaryArray.Builder();
                    for (var row = 0; row < length; row++)
                        if (column.IsValid(row)) builder.Append(column.GetBytes(row));
                        else builder.AppendNull();
                    return builder.Build();
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
    /// <paramref name="column"/> from row <paramref name="to"/>, accepting what pandas and pyarrow produce: any integer
    /// width into int32/int64 (range-checked) and into float32/float64; float32↔float64; timestamps of any unit, with or
    /// without a time zone (the values are UTC instants either way), date32/date64 and int64 microseconds into timestamp;
    /// utf8, large_utf8, string_view and dictionary-encoded strings (categoricals, any index width) into string.</summary>
    /// <remarks>Arrow arrays read from a stream are not validated by the reader: a damaged or hostile message can have
    /// buffers shorter than its rows or string offsets outside its data. Those reads throw here (never
    /// <see cref="StringArray.GetString"/>, which decodes through an unchecked pointer and ends the process with an
    /// access violation) and become a <see cref="SchemaMismatchException"/> naming the column (HostileArrowTests).</remarks>
    public static void CopyRows(IArrowArray array, int from, Column column, int to, int count)
    {
        try
        {
            CopyRowsCore(array, from, column, to, count);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException)
        {
            throw new SchemaMismatchException(
                $"column '{column.Field.Name}': the Arrow array is damaged (its buffers are shorter than its {array.Length} row(s) " +
                "or its offsets point outside its data); rows " + from + ".." + (from + count - 1) + " cannot be read");
        }
    }

    private static void CopyRowsCore(IArrowArray array, int from, Column column, int to, int count)
    {
        if (array.NullCount == 0) column.SetValid(to, count);
        else
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
            case (ColumnType.Float32, DoubleArray a):
                {
                    var source = a.Values.Slice(from, count);
                    var target = column.Values<float>()[to..];
                    for (var i = 0; i < count; i++) target[i] = (float)source[i];
                    break;
                }
            case (ColumnType.Float64, FloatArray a):
                {
                    var source = a.Values.Slice(from, count);
                    var target = column.Values<double>()[to..];
                    for (var i = 0; i < count; i++) target[i] = source[i];
                    break;
                }
            case (ColumnType.Int32 or ColumnType.Int64 or ColumnType.Float32 or ColumnType.Float64, _) when IsInteger(array):
                CopyIntegers(array, from, column, to, count);
                break;
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
                    for (var i = 0; i < count; i++)
                        values[to + i] = array.IsNull(from + i) ? 0 : ToMicros(raw[from + i], unit, column, from + i);
                    break;
                }
            case (ColumnType.Timestamp, Date32Array a):
                {
                    var values = column.Values<long>();
                    var raw = a.Values;
                    for (var i = 0; i < count; i++)
                        values[to + i] = array.IsNull(from + i) ? 0 : DaysToMicros(raw[from + i], column, from + i);
                    break;
                }
            case (ColumnType.Timestamp, Date64Array a):
                {
                    var values = column.Values<long>();
                    var raw = a.Values;
                    for (var i = 0; i < count; i++)
                        values[to + i] = array.IsNull(from + i) ? 0 : ToMicros(raw[from + i], TimeUnit.Millisecond, column, from + i);
                    break;
                }
            case (ColumnType.Timestamp, Int64Array a): a.Values.Slice(from, count).CopyTo(column.Values<long>()[to..]); break;
            case (ColumnType.Binary, BinaryArray a):
                for (var i = 0; i < count; i++)
                    if (!a.IsNull(from + i)) column.SetBytes(to + i, a.GetBytes(from + i));
                break;
            case (ColumnType.Binary, LargeBinaryArray a):
                for (var i = 0; i < count; i++)
                    if (!a.IsNull(from + i)) column.SetBytes(to + i, a.GetBytes(from + i));
                break;
            case (ColumnType.Binary, BinaryViewArray a):
                for (var i = 0; i < count; i++)
                    if (!a.IsNull(from + i)) column.SetBytes(to + i, a.GetBytes(from + i));
                break;
            case (ColumnType.String, StringArray a):
                {
                    var codes = column.Values<int>();
                    for (var i = 0; i < count; i++)
                        codes[to + i] = a.IsNull(from + i) ? 0 : column.Dictionary!.GetOrAdd(Utf8(a.GetBytes(from + i)));
                    break;
                }
            case (ColumnType.String, LargeStringArray a):
                {
                    var codes = column.Values<int>();
                    for (var i = 0; i < count; i++)
                        codes[to + i] = a.IsNull(from + i) ? 0 : column.Dictionary!.GetOrAdd(Utf8(a.GetBytes(from + i)));
                    break;
                }
            case (ColumnType.String, StringViewArray a):
                {
                    var codes = column.Values<int>();
                    for (var i = 0; i < count; i++)
                        codes[to + i] = a.IsNull(from + i) ? 0 : column.Dictionary!.GetOrAdd(Utf8(a.GetBytes(from + i)));
                    break;
                }
            case (ColumnType.String, DictionaryArray a) when a.Dictionary is StringArray or LargeStringArray or StringViewArray:
                {
                    // Resolve each dictionary entry once, then map the indices (a categorical's codes) per row.
                    var codes = column.Values<int>();
                    var dictionary = a.Dictionary;
                    var map = new int[dictionary.Length];
                    for (var d = 0; d < map.Length; d++) map[d] = column.Dictionary!.GetOrAdd(DictionaryString(dictionary, d));
                    for (var i = 0; i < count; i++)
                    {
                        if (a.IsNull(from + i))
                        {
                            codes[to + i] = 0;
                            continue;
                        }
                        var index = IndexAt(a.Indices, from + i);
                        if ((uint)index >= (uint)map.Length)
                            throw new SchemaMismatchException(
                                $"column '{column.Field.Name}' row {from + i}: dictionary index {index} is outside its dictionary of {map.Length} value(s)");
                        codes[to + i] = map[index];
                    }
                    break;
                }
            default:
                throw new SchemaMismatchException(
                    $"column '{column.Field.Name}' is {ColumnTypes.Name(column.Type)} but the Arrow column is {Describe(array.Data.DataType)}; " +
                    $"send {Accepted(column.Type)}");
        }
    }

    private static string DictionaryString(IArrowArray dictionary, int index) => dictionary switch
    {
        StringArray s => Utf8(s.GetBytes(index)),
        LargeStringArray s => Utf8(s.GetBytes(index)),
        _ => Utf8(((StringViewArray)dictionary).GetBytes(index)),
    };

    /// <summary>A string from bytes that <c>GetBytes</c> has bounds-checked (the same decoding as Arrow's GetString).</summary>
    private static string Utf8(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(bytes);

    private static bool IsInteger(IArrowArray array) =>
        array is Int8Array or Int16Array or Int32Array or Int64Array or UInt8Array or UInt16Array or UInt32Array or UInt64Array;

    /// <summary>Integers of any width into an int32, int64, float32 or float64 column; a value the column cannot hold
    /// (an int64 beyond int32, a uint64 beyond int64) is an error naming the column and row, never a wrapped number.</summary>
    private static void CopyIntegers(IArrowArray array, int from, Column column, int to, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var row = from + i;
            if (array.IsNull(row)) continue;
            long value;
            switch (array)
            {
                case Int8Array a: value = a.Values[row]; break;
                case Int16Array a: value = a.Values[row]; break;
                case Int32Array a: value = a.Values[row]; break;
                case Int64Array a: value = a.Values[row]; break;
                case UInt8Array a: value = a.Values[row]; break;
                case UInt16Array a: value = a.Values[row]; break;
                case UInt32Array a: value = a.Values[row]; break;
                default:
                    {
                        var unsigned = ((UInt64Array)array).Values[row];
                        if (unsigned > long.MaxValue) throw OutOfRange(column, row, unsigned.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        value = (long)unsigned;
                        break;
                    }
            }
            switch (column.Type)
            {
                case ColumnType.Int32:
                    if (value is < int.MinValue or > int.MaxValue) throw OutOfRange(column, row, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    column.Values<int>()[to + i] = (int)value;
                    break;
                case ColumnType.Int64: column.Values<long>()[to + i] = value; break;
                case ColumnType.Float32: column.Values<float>()[to + i] = value; break;
                default: column.Values<double>()[to + i] = value; break;
            }
        }
    }

    private static SchemaMismatchException OutOfRange(Column column, int row, string value) =>
        new($"column '{column.Field.Name}' row {row}: the value {value} does not fit {ColumnTypes.Name(column.Type)}");

    /// <summary>An Arrow type as pyarrow prints it, with the unit and zone of timestamps.</summary>
    private static string Describe(IArrowType type) => type switch
    {
        TimestampType t => $"timestamp[{UnitName(t.Unit)}{(string.IsNullOrEmpty(t.Timezone) ? "" : ", tz=" + t.Timezone)}]",
        DictionaryType d => $"dictionary<values={Describe(d.ValueType)}, indices={Describe(d.IndexType)}>",
        _ => type.Name,
    };

    private static string UnitName(TimeUnit unit) => unit switch
    {
        TimeUnit.Second => "s",
        TimeUnit.Millisecond => "ms",
        TimeUnit.Microsecond => "us",
        _ => "ns",
    };

    private static string Accepted(ColumnType type) => type switch
    {
        ColumnType.Float32 or ColumnType.Float64 => "float, double or an integer type",
        ColumnType.Int32 or ColumnType.Int64 => "an integer type (int8 to int64, uint8 to uint64)",
        ColumnType.Bool => "bool",
        ColumnType.Timestamp => "timestamp (any unit, any time zone), date32, date64 or int64 microseconds",
        _ => "utf8, large_utf8, string_view or a dictionary of strings (a categorical)",
    };

    /// <summary>The dictionary index at <paramref name="row"/>; -1 when it cannot be one (negative or beyond int32).</summary>
    private static int IndexAt(IArrowArray indices, int row) => indices switch
    {
        Int32Array a => a.Values[row],
        Int8Array a => a.Values[row],
        Int16Array a => a.Values[row],
        Int64Array a => a.Values[row] is >= 0 and <= int.MaxValue ? (int)a.Values[row] : -1,
        UInt8Array a => a.Values[row],
        UInt16Array a => a.Values[row],
        UInt32Array a => a.Values[row] <= int.MaxValue ? (int)a.Values[row] : -1,
        UInt64Array a => a.Values[row] <= int.MaxValue ? (int)a.Values[row] : -1,
        _ => throw new SchemaMismatchException($"dictionary indices of type {indices.Data.DataType.Name} are not supported"),
    };

    /// <summary>Days since 1970 in microseconds; date32 reaches ±5.8 million years, microseconds only ±292,000, so a
    /// day beyond that is an error naming the row rather than a wrapped instant.</summary>
    private static long DaysToMicros(int days, Column column, int row)
    {
        const long microsPerDay = 86_400_000_000L;
        if (days is < (int)(long.MinValue / microsPerDay) or > (int)(long.MaxValue / microsPerDay))
            throw new SchemaMismatchException($"column '{column.Field.Name}' row {row}: date {days} days is outside what microseconds can hold");
        return days * microsPerDay;
    }

    /// <summary>Whole microseconds; nanoseconds are floored (so an instant before 1970 does not move later), and seconds
    /// or milliseconds that overflow microseconds (beyond the years ±292,000) are an error naming the row.</summary>
    private static long ToMicros(long value, TimeUnit unit, Column column, int row)
    {
        try
        {
            return unit switch
            {
                TimeUnit.Second => checked(value * 1_000_000),
                TimeUnit.Millisecond => checked(value * 1_000),
                TimeUnit.Microsecond => value,
                TimeUnit.Nanosecond => Math.DivRem(value, 1_000, out var rest) - (rest < 0 ? 1 : 0),
                _ => throw new SchemaMismatchException($"column '{column.Field.Name}': unknown timestamp unit {unit}"),
            };
        }
        catch (OverflowException)
        {
            throw new SchemaMismatchException(
                $"column '{column.Field.Name}' row {row}: timestamp {value} {UnitName(unit)} is outside what microseconds can hold");
        }
    }
}
