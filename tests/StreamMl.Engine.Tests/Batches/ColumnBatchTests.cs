using Apache.Arrow;
using Apache.Arrow.Ipc;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace StreamMl.Engine.Tests.Batches;

public sealed class ColumnBatchTests
{
    private static readonly Schema s_schema = new(
        new Field("f32", ColumnType.Float32),
        new Field("f64", ColumnType.Float64),
        new Field("i32", ColumnType.Int32),
        new Field("i64", ColumnType.Int64),
        new Field("flag", ColumnType.Bool),
        new Field("ts", ColumnType.Timestamp),
        new Field("cat", ColumnType.String));

    private static readonly string[] s_categories = ["red", "green", "blue", "ünïcödé", ""];

    private static ColumnBatch RandomBatch(int rows, int seed, BatchPool? pool = null)
    {
        var random = new Random(seed);
        var batch = pool?.Rent() ?? new ColumnBatch(s_schema, Math.Max(rows, 1));
        for (var row = 0; row < rows; row++)
        {
            batch[0].Values<float>()[row] = (float)(random.NextDouble() * 100 - 50);
            batch[1].Values<double>()[row] = random.NextDouble() * 1e6;
            batch[2].Values<int>()[row] = random.Next();
            batch[3].Values<long>()[row] = random.NextInt64();
            batch[4].Values<byte>()[row] = (byte)random.Next(2);
            batch[5].Values<long>()[row] = 1_700_000_000_000_000 + random.NextInt64(1_000_000_000);
            batch[6].Values<int>()[row] = batch[6].Dictionary!.GetOrAdd(s_categories[random.Next(s_categories.Length)]);
            for (var c = 0; c < s_schema.Count; c++)
                if (random.Next(10) == 0) batch[c].SetNull(row);
        }
        batch.Length = rows;
        return batch;
    }

    private static object? Cell(ColumnBatch batch, int column, int row)
    {
        var c = batch[column];
        if (!c.IsValid(row)) return null;
        return c.Type switch
        {
            ColumnType.Float32 => c.Values<float>()[row],
            ColumnType.Float64 => c.Values<double>()[row],
            ColumnType.Int32 => c.Values<int>()[row],
            ColumnType.Int64 or ColumnType.Timestamp => c.Values<long>()[row],
            ColumnType.Bool => c.Values<byte>()[row] != 0,
            ColumnType.String => c.Dictionary![c.Values<int>()[row]],
            _ => throw new InvalidOperationException(),
        };
    }

    private static bool SameRows(ColumnBatch a, ColumnBatch b)
    {
        if (a.Length != b.Length || !a.Schema.Equals(b.Schema)) return false;
        for (var c = 0; c < a.Schema.Count; c++)
            for (var row = 0; row < a.Length; row++)
                if (!Equals(Cell(a, c, row), Cell(b, c, row))) return false;
        return true;
    }

    [Property(MaxTest = 30)]
    public Property Batch_to_Arrow_IPC_stream_and_back_is_equal(NonNegativeInt rows, int seed)
    {
        var count = rows.Get % 600;
        using var batch = RandomBatch(count, seed);
        using var stream = new MemoryStream();
        var recordBatch = batch.ToRecordBatch();
        using (var writer = new ArrowStreamWriter(stream, recordBatch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(recordBatch);
            writer.WriteEnd();
        }
        stream.Position = 0;
        using var reader = new ArrowStreamReader(stream);
        var read = reader.ReadNextRecordBatch();
        using var back = ColumnBatch.FromRecordBatch(read, Math.Max(count, 1));
        return SameRows(batch, back).Label($"rows={count} seed={seed}");
    }

    [Fact]
    public void Arrow_view_shares_numeric_memory_with_the_batch()
    {
        using var batch = RandomBatch(100, 1);
        var view = batch.ToRecordBatch();
        var floats = (FloatArray)view.Column(0);
        batch[0].Values<float>()[3] = 12345.5f;
        Assert.Equal(12345.5f, floats.Values[3]);
        Assert.Equal(batch[0].NullCount(100), floats.NullCount);
    }

    [Fact]
    public void Arrow_reader_sees_exact_types_and_values()
    {
        using var batch = RandomBatch(50, 2);
        var view = batch.ToRecordBatch();
        Assert.IsType<Apache.Arrow.Types.TimestampType>(view.Schema.GetFieldByName("ts").DataType);
        var dictionary = (DictionaryArray)view.Column(6);
        var strings = (StringArray)dictionary.Dictionary;
        var indices = (Int32Array)dictionary.Indices;
        for (var row = 0; row < 50; row++)
        {
            if (!batch[6].IsValid(row)) { Assert.True(dictionary.IsNull(row)); continue; }
            Assert.Equal(Cell(batch, 6, row), strings.GetString(indices.Values[row]));
            if (batch[4].IsValid(row)) Assert.Equal(Cell(batch, 4, row), ((BooleanArray)view.Column(4)).GetValue(row));
        }
    }

    [Fact]
    public void Columns_are_64_byte_aligned()
    {
        using var batch = RandomBatch(10, 3);
        for (var c = 0; c < s_schema.Count; c++)
            unsafe
            {
                Assert.Equal(0L, (long)batch[c].ValueBuffer.Pointer % 64);
                Assert.Equal(0L, (long)batch[c].ValidityBuffer.Pointer % 64);
            }
    }

    [Fact]
    public void Compact_keeps_selected_rows_in_order()
    {
        using var batch = RandomBatch(200, 4);
        var expected = Enumerable.Range(0, 200).Where(r => r % 3 != 0).Select(r => Cell(batch, 6, r)).ToList();
        for (var row = 0; row < 200; row += 3) batch.Selection.Deselect(row);
        Assert.Equal(expected.Count, batch.Selection.Count);
        batch.Compact();
        Assert.Equal(expected.Count, batch.Length);
        Assert.Equal(expected, Enumerable.Range(0, batch.Length).Select(r => Cell(batch, 6, r)).ToList());
    }

    [Fact]
    public void Pool_reports_a_leaked_batch_and_a_double_return()
    {
        using var pool = new BatchPool(s_schema, 16);
        var a = pool.Rent();
        var b = pool.Rent();
        pool.Return(a);
        var leak = Assert.Throws<BatchLeakException>(pool.AssertNoLeaks);
        Assert.Contains("1 batch", leak.Message);
        Assert.Throws<BatchLeakException>(() => pool.Return(a));
        pool.Return(b);
        pool.AssertNoLeaks();
    }

    [Fact]
    public void Pool_reuses_batches_and_resets_them()
    {
        using var pool = new BatchPool(s_schema, 16);
        var first = RandomBatch(16, 5, pool);
        pool.Return(first);
        var second = pool.Rent();
        Assert.Same(first, second);
        Assert.Equal(0, second.Length);
        Assert.False(second[0].MayHaveNulls);
        Assert.Equal(0, second[6].Dictionary!.Count);
        pool.Return(second);
        Assert.Equal(1, pool.Created);
    }

    [Property(MaxTest = 50)]
    public Property Copying_a_run_of_Arrow_rows_widens_and_keeps_nulls(double?[] values, NonNegativeInt from, NonNegativeInt to)
    {
        values ??= [];
        var start = values.Length == 0 ? 0 : from.Get % values.Length;
        var count = values.Length - start;
        var target = to.Get % 8;
        var doubles = new DoubleArray.Builder();
        var ints = new Int32Array.Builder();
        foreach (var v in values)
        {
            if (v is { } x && double.IsFinite(x)) { doubles.Append(x); ints.Append((int)Math.Clamp(x, int.MinValue, int.MaxValue)); }
            else { doubles.AppendNull(); ints.AppendNull(); }
        }
        var doubleArray = doubles.Build();
        var intArray = ints.Build();
        using var batch = new ColumnBatch(new Schema(new Field("f", ColumnType.Float32), new Field("l", ColumnType.Int64)), Math.Max(1, target + count));
        batch[0].CopyFrom(doubleArray, start, target, count);
        batch[1].CopyFrom(intArray, start, target, count);
        var ok = true;
        for (var i = 0; i < count; i++)
        {
            var expected = doubleArray.GetValue(start + i);
            ok &= expected is null
                ? !batch[0].IsValid(target + i) && !batch[1].IsValid(target + i)
                : batch[0].IsValid(target + i) && batch[0].Values<float>()[target + i] == (float)expected.Value
                  && batch[1].Values<long>()[target + i] == intArray.GetValue(start + i);
        }
        return ok.Label($"n={values.Length} from={start} to={target}");
    }

    [Fact]
    public void Copying_an_Arrow_array_of_another_type_names_the_column()
    {
        using var batch = new ColumnBatch(new Schema(new Field("flag", ColumnType.Bool)), 4);
        var strings = new StringArray.Builder().Append("x").Build();
        var error = Assert.Throws<SchemaMismatchException>(() => batch[0].CopyFrom(strings, 0, 0, 1));
        Assert.Contains("'flag'", error.Message);
    }

    [Fact]
    public void String_codes_restart_per_batch_but_repeated_strings_are_not_allocated_again()
    {
        var dictionary = new StringDictionary();
        var names = Enumerable.Range(0, 100).Select(i => $"device-{i:D4}".ToCharArray()).ToArray();
        void Fill()
        {
            dictionary.Clear();
            for (var round = 0; round < 3; round++)
                foreach (var name in names) dictionary.GetOrAdd(name.AsSpan());
        }
        Fill();
        var first = dictionary[7];
        var allocated = SteadyState.AllocatedBytes(Fill, 1);

        Assert.Equal(0, allocated);
        Assert.Equal(100, dictionary.Count);
        Assert.Equal("device-0007", dictionary[7]);
        Assert.Same(first, dictionary[7]);
        Assert.Equal(-1, dictionary.CodeOf("device-9999"));
    }

    [Fact]
    public void Asking_for_a_missing_column_names_the_columns_there_are()
    {
        var error = Assert.Throws<SchemaMismatchException>(() => s_schema.Require("nope"));
        Assert.Contains("f32", error.Message);
        Assert.Contains("nope", error.Message);
    }
}
