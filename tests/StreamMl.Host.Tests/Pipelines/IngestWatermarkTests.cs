using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Pipelines;

/// <summary>The Ingest source's watermark (highest event time minus a millisecond) never wraps around.</summary>
public sealed class IngestWatermarkTests
{
    [Fact]
    public async Task An_event_time_at_the_bottom_of_the_range_gives_no_watermark_not_one_in_the_far_future()
    {
        var schema = new Schema(new Field("at", ColumnType.Timestamp, false), new Field("x", ColumnType.Float32));
        var source = new GrpcIngestSource("grpc", schema, 16, queueBatches: 4, eventTimeColumn: "at");
        // NaT-like sentinels from a client: the smallest int64 as microseconds.
        var rows = new RowSet { Columns = { "at", "x" }, Rows = { new Row { Values = { new Value { TimestampMicros = long.MinValue + 5 }, new Value { Number = 1 } } } } };
        await source.AcceptAsync(new IngestRequest { Rows = rows }, "test", CancellationToken.None);
        using var batch = new ColumnBatch(schema, 16);
        Assert.True(await source.FillAsync(batch, CancellationToken.None));
        Assert.Equal(1, batch.Length);
        // Before: long.MinValue + 5 - 1000 wrapped to 9223372036854774813, a watermark 292,000 years ahead that
        // would close every event-time window and make every later row late.
        Assert.True(batch.Watermark <= long.MinValue + 5, $"watermark {batch.Watermark}");
    }
}
