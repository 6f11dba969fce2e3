namespace StreamMl.Engine.Tests.Batches;

/// <summary><see cref="Column.SetValid(int, int)"/> against marking the same rows valid one by one.</summary>
public sealed class ValidityRangeTests
{
    [Fact]
    public void Marking_a_range_valid_equals_marking_each_row_valid()
    {
        var random = new Random(20261203);
        var schema = new Schema(new Field("x", ColumnType.Int64, Nullable: true));
        using var ranged = new ColumnBatch(schema, 300);
        using var rowByRow = new ColumnBatch(schema, 300);
        for (var round = 0; round < 2_000; round++)
        {
            if (random.Next(4) == 0)
            {
                var row = random.Next(300);
                ranged[0].SetNull(row);
                rowByRow[0].SetNull(row);
            }
            var start = random.Next(300);
            var count = random.Next(300 - start + 1);
            ranged[0].SetValid(start, count);
            for (var r = start; r < start + count; r++) rowByRow[0].SetValid(r);
            for (var r = 0; r < 300; r++)
                Assert.True(ranged[0].IsValid(r) == rowByRow[0].IsValid(r), $"round {round}, range {start}+{count}, row {r}");
        }
    }
}
