using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using ArrowField = Apache.Arrow.Field;

namespace StreamMl.Engine.Tests.Batches;

/// <summary>Arrow IPC streams as pandas and pyarrow write them (issue 12 item 16), written here with Apache Arrow's .NET
/// writer and read back through the IPC reader, land in the engine's columns value for value. Before: large_utf8 and
/// string_view columns, dictionaries of large strings, integers of other widths (pandas' default int64 into an int32
/// column, uint8 codes) and date32 were refused; nanosecond timestamps before 1970 moved a microsecond later; and a
/// seconds timestamp beyond microseconds wrapped around silently.</summary>
public sealed class ArrowImportTests
{
    private static IArrowArray Raw<T>(IArrowType type, T[] values, bool[]? valid = null) where T : unmanaged
    {
        var nulls = valid?.Count(v => !v) ?? 0;
        var bitmap = ArrowBuffer.Empty;
        if (valid is not null)
        {
            var bits = new byte[(values.Length + 7) / 8];
            for (var i = 0; i < values.Length; i++)
                if (valid[i]) bits[i >> 3] |= (byte)(1 << (i & 7));
            bitmap = new ArrowBuffer(bits);
        }
        var data = new ArrayData(type, values.Length, nulls, 0, [bitmap, new ArrowBuffer(MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        return ArrowArrayFactory.BuildArray(data);
    }

    /// <summary>Through the IPC writer and reader, as a client's bytes would arrive (dictionaries travel as their own messages).</summary>
    private static RecordBatch RoundTrip(RecordBatch batch)
    {
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        stream.Position = 0;
        using var reader = new ArrowStreamReader(stream);
        return reader.ReadNextRecordBatch();
    }

    private static RecordBatch Batch(params (string Name, IArrowArray Array)[] columns) =>
        new(new Apache.Arrow.Schema(columns.Select(c => new ArrowField(c.Name, c.Array.Data.DataType, true)), null),
            columns.Select(c => c.Array), columns[0].Array.Length);

    private static long Micros(DateTimeOffset at) => (at.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;

    [Fact]
    public void Timestamps_of_every_unit_with_and_without_zone_become_UTC_microseconds()
    {
        var instants = new[]
        {
            new DateTimeOffset(2024, 3, 10, 6, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2001, 9, 9, 1, 46, 40, TimeSpan.FromHours(-4)),
        };
        var seconds = instants.Select(i => i.ToUnixTimeSeconds()).ToArray();
        var millis = instants.Select(i => i.ToUnixTimeMilliseconds() + 123).ToArray();
        var nanos = new[] { seconds[0] * 1_000_000_000 + 123_456_789, -1, -1_000 };
        var batch = RoundTrip(Batch(
            ("s", Raw(new TimestampType(TimeUnit.Second, (string?)null), seconds)),
            ("ms", Raw(new TimestampType(TimeUnit.Millisecond, "America/New_York"), millis)),
            ("us", Raw(new TimestampType(TimeUnit.Microsecond, "UTC"), millis.Select(m => m * 1000 + 7).ToArray())),
            ("ns", Raw(new TimestampType(TimeUnit.Nanosecond, "Europe/Berlin"), nanos, [true, true, true])),
            ("day", Raw(Date32Type.Default, new[] { 19792, -1, 0 }, [true, true, false]))));
        var schema = new Schema(new[] { "s", "ms", "us", "ns", "day" }.Select(n => new Field(n, ColumnType.Timestamp)));
        using var target = new ColumnBatch(schema, 8);
        target.CopyFrom(batch);

        Assert.Equal(3, target.Length);
        Assert.Equal(instants.Select(Micros), target.Values<long>(0).ToArray());
        Assert.Equal(instants.Select(i => Micros(i) + 123_000), target.Values<long>(1).ToArray());
        Assert.Equal(instants.Select(i => Micros(i) + 123_007), target.Values<long>(2).ToArray());
        // Sub-microsecond digits are floored: -1 ns is in the microsecond before the epoch, not at it.
        Assert.Equal([seconds[0] * 1_000_000 + 123_456, -1, -1], target.Values<long>(3).ToArray());
        Assert.Equal(Micros(new DateTimeOffset(2024, 3, 10, 0, 0, 0, TimeSpan.Zero)), target["day"].Values<long>()[0]);
        Assert.Equal(-86_400_000_000L, target["day"].Values<long>()[1]);
        Assert.False(target["day"].IsValid(2));
    }

    [Fact]
    public void Categoricals_large_strings_and_string_views_become_string_columns()
    {
        var labels = new StringArray.Builder().AppendRange(["red", "green", "blü"]).Build();
        var largeLabels = new LargeStringArray.Builder().AppendRange(["x", "", "ÿz"]).Build();
        var cat8 = new DictionaryArray(new DictionaryType(Int8Type.Default, StringType.Default, false),
            Raw(Int8Type.Default, new sbyte[] { 2, 0, 1, 0 }, [true, true, true, false]), labels);
        var cat16 = new DictionaryArray(new DictionaryType(Int16Type.Default, StringType.Default, true),
            Raw(Int16Type.Default, new short[] { 0, 0, 2, 1 }), labels);
        var cat32Large = new DictionaryArray(new DictionaryType(Int32Type.Default, LargeStringType.Default, false),
            Raw(Int32Type.Default, new[] { 1, 2, 0, 2 }), largeLabels);
        var large = new LargeStringArray.Builder().Append("a").Append("ünï").Append("").AppendNull().Build();
        var view = new StringViewArray.Builder().Append("short").Append("a string longer than twelve bytes").AppendNull().Append("").Build();
        var batch = RoundTrip(Batch(("cat8", cat8), ("cat16", cat16), ("cat32", cat32Large), ("large", large), ("view", view)));
        var schema = new Schema(new[] { "cat8", "cat16", "cat32", "large", "view" }.Select(n => new Field(n, ColumnType.String)));
        using var target = new ColumnBatch(schema, 8);
        target.CopyFrom(batch);

        List<string?> Strings(string name)
        {
            var column = target[name];
            return [.. Enumerable.Range(0, target.Length).Select(r => column.IsValid(r) ? column.Dictionary![column.Values<int>()[r]] : null)];
        }
        Assert.Equal(new List<string?> { "blü", "red", "green", null }, Strings("cat8"));
        Assert.Equal(new List<string?> { "red", "red", "blü", "green" }, Strings("cat16"));
        Assert.Equal(new List<string?> { "", "ÿz", "x", "ÿz" }, Strings("cat32"));
        Assert.Equal(new List<string?> { "a", "ünï", "", null }, Strings("large"));
        Assert.Equal(new List<string?> { "short", "a string longer than twelve bytes", null, "" }, Strings("view"));
    }

    [Fact]
    public void Integers_of_any_width_fill_integer_and_float_columns()
    {
        var batch = RoundTrip(Batch(
            ("i64", Raw(Int64Type.Default, new[] { -5L, int.MaxValue, int.MinValue })),
            ("u8", Raw(UInt8Type.Default, new byte[] { 0, 200, 255 })),
            ("i16", Raw(Int16Type.Default, new short[] { -3, 7, short.MinValue })),
            ("u64", Raw(UInt64Type.Default, new ulong[] { 0, long.MaxValue, 12 })),
            ("i32", Raw(Int32Type.Default, new[] { 1, -2, 16_777_217 }))));
        var schema = new Schema(
            new Field("i64", ColumnType.Int32), new Field("u8", ColumnType.Int64), new Field("i16", ColumnType.Float32),
            new Field("u64", ColumnType.Int64), new Field("i32", ColumnType.Float64));
        using var target = new ColumnBatch(schema, 8);
        target.CopyFrom(batch);
        Assert.Equal([-5, int.MaxValue, int.MinValue], target.Values<int>(0).ToArray());
        Assert.Equal([0L, 200, 255], target.Values<long>(1).ToArray());
        Assert.Equal([-3f, 7, short.MinValue], target.Values<float>(2).ToArray());
        Assert.Equal([0L, long.MaxValue, 12], target.Values<long>(3).ToArray());
        Assert.Equal([1d, -2, 16_777_217], target.Values<double>(4).ToArray());
    }

    [Fact]
    public void A_batch_built_from_Arrow_infers_the_column_each_type_fills()
    {
        var labels = new LargeStringArray.Builder().AppendRange(["a", "b"]).Build();
        using var batch = ColumnBatch.FromRecordBatch(RoundTrip(Batch(
            ("i8", Raw(Int8Type.Default, new sbyte[] { -1, 2 })),
            ("u32", Raw(UInt32Type.Default, new[] { uint.MaxValue, 0u })),
            ("day", Raw(Date32Type.Default, new[] { 1, 2 })),
            ("ns", Raw(new TimestampType(TimeUnit.Nanosecond, (string?)null), new[] { 1_999L, -1 })),
            ("cat", new DictionaryArray(new DictionaryType(UInt8Type.Default, LargeStringType.Default, false), Raw(UInt8Type.Default, new byte[] { 1, 0 }), labels)))));
        Assert.Equal([ColumnType.Int32, ColumnType.Int64, ColumnType.Timestamp, ColumnType.Timestamp, ColumnType.String], batch.Schema.Select(f => f.Type));
        Assert.Equal([-1, 2], batch.Values<int>(0).ToArray());
        Assert.Equal([(long)uint.MaxValue, 0], batch.Values<long>(1).ToArray());
        Assert.Equal([86_400_000_000L, 172_800_000_000], batch.Values<long>(2).ToArray());
        Assert.Equal([1L, -1], batch.Values<long>(3).ToArray());
        Assert.Equal("b", batch["cat"].Dictionary![batch.Values<int>(4)[0]]);
    }

    [Fact]
    public void Values_that_do_not_fit_are_errors_naming_column_and_row_not_wrapped_numbers()
    {
        using var ints = new ColumnBatch(new Schema(new Field("count", ColumnType.Int32)), 4);
        var ex = Assert.Throws<SchemaMismatchException>(() => ints.CopyFrom(Batch(("count", Raw(Int64Type.Default, new[] { 1L, 5_000_000_000L })))));
        Assert.Equal("column 'count' row 1: the value 5000000000 does not fit int32", ex.Message);

        using var longs = new ColumnBatch(new Schema(new Field("n", ColumnType.Int64)), 4);
        ex = Assert.Throws<SchemaMismatchException>(() => longs.CopyFrom(Batch(("n", Raw(UInt64Type.Default, new[] { ulong.MaxValue })))));
        Assert.Equal("column 'n' row 0: the value 18446744073709551615 does not fit int64", ex.Message);

        using var times = new ColumnBatch(new Schema(new Field("at", ColumnType.Timestamp)), 4);
        ex = Assert.Throws<SchemaMismatchException>(() => times.CopyFrom(Batch(("at", Raw(new TimestampType(TimeUnit.Second, "UTC"), new[] { 0L, long.MaxValue / 10 })))));
        Assert.Equal($"column 'at' row 1: timestamp {long.MaxValue / 10} s is outside what microseconds can hold", ex.Message);

        // date32 holds ±5.8 million years of days; microseconds hold ±292,000 years. Before: int.MaxValue days
        // wrapped silently to a timestamp in the year -21,755 or so.
        ex = Assert.Throws<SchemaMismatchException>(() => times.CopyFrom(Batch(("at", Raw(Date32Type.Default, new[] { 19792, int.MaxValue })))));
        Assert.Equal($"column 'at' row 1: date {int.MaxValue} days is outside what microseconds can hold", ex.Message);

        ex = Assert.Throws<SchemaMismatchException>(() => times.CopyFrom(Batch(("at", new StringArray.Builder().Append("2024-01-01").Build()))));
        Assert.Equal("column 'at' is timestamp but the Arrow column is utf8; send timestamp (any unit, any time zone), date32, date64 or int64 microseconds", ex.Message);

        using var strings = new ColumnBatch(new Schema(new Field("s", ColumnType.String)), 4);
        var badIndex = new DictionaryArray(new DictionaryType(Int8Type.Default, StringType.Default, false),
            Raw(Int8Type.Default, new sbyte[] { 0, 5 }), new StringArray.Builder().Append("only").Build());
        ex = Assert.Throws<SchemaMismatchException>(() => strings.CopyFrom(Batch(("s", badIndex))));
        Assert.Equal("column 's' row 1: dictionary index 5 is outside its dictionary of 1 value(s)", ex.Message);
    }
}
