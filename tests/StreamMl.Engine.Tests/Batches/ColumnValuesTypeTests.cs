namespace StreamMl.Engine.Tests.Batches;

/// <summary><see cref="Column.Values{T}"/> checks the column's type, not only the element size (issue 12 item 18):
/// before, an int32 column read as float returned the int bits as floats and a float64 column read as long returned
/// the double bits, with no error.</summary>
public sealed class ColumnValuesTypeTests
{
    private static readonly Schema s_schema = new(
        new Field("f32", ColumnType.Float32),
        new Field("f64", ColumnType.Float64),
        new Field("i32", ColumnType.Int32),
        new Field("i64", ColumnType.Int64),
        new Field("flag", ColumnType.Bool),
        new Field("ts", ColumnType.Timestamp),
        new Field("cat", ColumnType.String));

    [Fact]
    public void Same_size_but_other_type_throws_naming_the_column_and_both_types()
    {
        using var batch = new ColumnBatch(s_schema, 8);
        var ex = Assert.Throws<SchemaMismatchException>(() => batch["i32"].Values<float>());
        Assert.Equal("column 'i32' is int32; it cannot be read as float (read int32 values as int)", ex.Message);
        ex = Assert.Throws<SchemaMismatchException>(() => batch["f32"].Values<int>());
        Assert.Contains("column 'f32' is float32; it cannot be read as int", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<SchemaMismatchException>(() => batch["f64"].Values<long>());
        Assert.Contains("column 'f64' is float64; it cannot be read as long (read float64 values as double)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<SchemaMismatchException>(() => batch["i64"].Values<double>());
        Assert.Throws<SchemaMismatchException>(() => batch["ts"].Values<double>());
        Assert.Throws<SchemaMismatchException>(() => batch["cat"].Values<float>());
        Assert.Throws<SchemaMismatchException>(() => batch["flag"].Values<sbyte>());
        Assert.Throws<SchemaMismatchException>(() => batch["i32"].Values<uint>());
        Assert.Throws<SchemaMismatchException>(() => batch.Values<float>(2));
    }

    [Fact]
    public void Each_type_reads_as_its_element_type()
    {
        using var batch = new ColumnBatch(s_schema, 8) { Length = 8 };
        Assert.Equal(8, batch["f32"].Values<float>()[..8].Length);
        Assert.Equal(8, batch["f64"].Values<double>()[..8].Length);
        Assert.Equal(8, batch["i32"].Values<int>()[..8].Length);
        Assert.Equal(8, batch["i64"].Values<long>()[..8].Length);
        Assert.Equal(8, batch["flag"].Values<byte>()[..8].Length);
        Assert.Equal(8, batch["ts"].Values<long>()[..8].Length);
        Assert.Equal(8, batch["cat"].Values<int>()[..8].Length);
        Assert.Equal(8, batch.Values<float>(0).Length);
    }

    [Fact]
    public void Raw_bytes_stay_available_for_type_blind_copies()
    {
        using var batch = new ColumnBatch(s_schema, 8);
        batch["i32"].Values<int>()[0] = 0x3F800000;
        Assert.Equal(0x00, batch["i32"].RawValues[0]);
        Assert.Equal(0x3F, batch["i32"].RawValues[3]);
    }
}
