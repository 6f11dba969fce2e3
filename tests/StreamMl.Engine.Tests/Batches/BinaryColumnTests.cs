using Apache.Arrow;
using Apache.Arrow.Ipc;
using StreamMl.Testing;

namespace StreamMl.Engine.Tests.Batches;

/// <summary>Binary columns (encoded images, raw payloads): values survive reset, row copies and Arrow IPC both ways
/// (written and read by Apache Arrow's own .NET IPC writer and reader), and refilling a batch allocates nothing.</summary>
public sealed class BinaryColumnTests
{
    private static readonly Schema s_schema = new(new Field("id", ColumnType.Int32), new Field("image", ColumnType.Binary));

    private static byte[][] Values(int seed, int rows)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows).Select(_ => { var b = new byte[random.Next(0, 3000)]; random.NextBytes(b); return b; })];
    }

    [Fact]
    public void Values_read_back_after_a_reset_and_a_row_copy_and_nulls_stay_null()
    {
        using var batch = new ColumnBatch(s_schema, 64);
        foreach (var seed in (int[])[1, 2])
        {
            batch.Reset();
            var values = Values(seed, 40);
            batch.Length = values.Length;
            for (var r = 0; r < values.Length; r++)
                if (r % 7 == 3) batch[1].SetNull(r); else batch[1].SetBytes(r, values[r]);
            for (var r = 0; r < values.Length; r++)
            {
                Assert.Equal(r % 7 != 3, batch[1].IsValid(r));
                if (r % 7 != 3) Assert.Equal(values[r], batch[1].GetBytes(r).ToArray());
            }
            using var other = new ColumnBatch(s_schema, 64);
            other.Length = 2;
            other[1].CopyRow(batch[1], 5, 1);
            other[1].CopyRow(batch[1], 3, 0);
            Assert.Equal(values[5], other[1].GetBytes(1).ToArray());
            Assert.False(other[1].IsValid(0));
        }
        Assert.Throws<SchemaMismatchException>(() => batch[0].GetBytes(0).Length);
        Assert.Equal(ColumnType.Binary, ColumnTypes.Parse("bytes"));
    }

    [Fact]
    public void Arrow_ipc_round_trip_through_the_arrow_libraries_reader_and_writer()
    {
        var values = Values(3, 25);
        using var batch = new ColumnBatch(s_schema, 32);
        batch.Length = values.Length;
        for (var r = 0; r < values.Length; r++)
        {
            batch[0].Values<int>()[r] = r;
            if (r == 4) batch[1].SetNull(r); else batch[1].SetBytes(r, values[r]);
        }
        using var stream = new MemoryStream();
        using (var record = batch.ToRecordBatch())
        using (var writer = new ArrowStreamWriter(stream, record.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(record);
            writer.WriteEnd();
        }
        stream.Position = 0;
        using var reader = new ArrowStreamReader(stream);
        using var read = reader.ReadNextRecordBatch();
        var array = Assert.IsType<BinaryArray>(read.Column("image"));
        for (var r = 0; r < values.Length; r++)
            if (r == 4) Assert.True(array.IsNull(r)); else Assert.Equal(values[r], array.GetBytes(r).ToArray());

        using var back = ColumnBatch.FromRecordBatch(read);
        Assert.Equal(ColumnType.Binary, back.Schema[1].Type);
        for (var r = 0; r < values.Length; r++)
            if (r == 4) Assert.False(back[1].IsValid(r)); else Assert.Equal(values[r], back[1].GetBytes(r).ToArray());
    }

    [Fact]
    public void Refilling_a_batch_with_values_of_the_same_sizes_allocates_nothing()
    {
        var values = Values(4, 50);
        using var batch = new ColumnBatch(s_schema, 64);
        void Fill()
        {
            batch.Reset();
            batch.Length = values.Length;
            for (var r = 0; r < values.Length; r++) batch[1].SetBytes(r, values[r]);
        }
        Fill();
        Assert.Equal(0, SteadyState.AllocatedBytes(Fill, 100));
    }
}
