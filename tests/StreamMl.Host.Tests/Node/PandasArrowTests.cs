using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Node;

/// <summary>Arrow IPC as pandas/pyarrow write it (issue 12 item 16), produced by the npm apache-arrow package
/// (tests/node-client/pandas-arrow.mjs): categoricals (dictionary with int8 and int32 codes), large_utf8, float64 and
/// int64 into float32/int32 columns, timestamps in s, ms (America/New_York), us and ns (UTC). Ingested and read back
/// through Subscribe, row for row. Before: Ingest answered INVALID_ARGUMENT "column 'device' is string but the Arrow
/// column is dictionary" and "column 'at_ms' is timestamp but the Arrow column is timestamp".</summary>
[Collection(HostCollection.Name)]
public sealed class PandasArrowTests(HostFixture host)
{
    private const string Spec = """
        name: pandas-arrow
        options: { batch_capacity: 256, ring_size: 4 }
        source:
          kind: grpc
          columns: { device: string, zone: string, site: string, temperature: float32, count: int32,
                     at_s: timestamp, at_ms: timestamp, at_us: timestamp, at_ns: timestamp }
        sinks:
          - kind: memory
            keep_rows: 3
        """;

    [Fact]
    public async Task Arrow_written_like_pandas_by_the_npm_apache_arrow_package_is_ingested_value_for_value()
    {
        var (arrow, expected) = await WriteWithNodeAsync();
        using (expected)
        {
            await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec, Replace = true, Start = true });
            string[] columns = ["device", "zone", "site", "temperature", "count", "at_s", "at_ms", "at_us", "at_ns"];
            using var subscription = host.DataPlane(HostFixture.ReadKey).Subscribe(new SubscribeRequest { Pipeline = "pandas-arrow", Rows = true, Columns = { columns } });
            var events = host.Pipelines.Get("pandas-arrow").Runtime.Events;
            await Eventually.TrueAsync(() => events.SubscriberCount > 0, "the subscription to reach the server");

            using (var ingest = host.DataPlane().Ingest())
            {
                await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "pandas-arrow", ArrowIpc = ByteString.CopyFrom(arrow) });
                await ingest.RequestStream.CompleteAsync();
                Assert.Equal(7, (await ingest).RowsAccepted);
            }
            var rows = new List<Row>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await foreach (var e in subscription.ResponseStream.ReadAllAsync(timeout.Token))
            {
                if (e.KindCase != PipelineEvent.KindOneofCase.Rows) continue;
                rows.AddRange(e.Rows.Rows);
                if (rows.Count >= 7) break;
            }

            var root = expected.RootElement;
            Assert.Equal(7, rows.Count);
            for (var r = 0; r < rows.Count; r++)
            {
                var values = rows[r].Values;
                AssertText(root.GetProperty("device")[r], values[0], r);
                AssertText(root.GetProperty("zone")[r], values[1], r);
                AssertText(root.GetProperty("site")[r], values[2], r);
                Assert.Equal((float)root.GetProperty("temperature")[r].GetDouble(), (float)values[3].Number);
                Assert.Equal(long.Parse(root.GetProperty("count")[r].GetString()!), values[4].Integer);
                Assert.Equal(Micros(root, "at_s", r, 1_000_000), values[5].TimestampMicros);
                Assert.Equal(Micros(root, "at_ms", r, 1_000), values[6].TimestampMicros);
                Assert.Equal(Micros(root, "at_us", r, 1), values[7].TimestampMicros);
                Assert.Equal(Micros(root, "at_ns", r, -1_000), values[8].TimestampMicros);
            }
        }
    }

    [Fact]
    public async Task An_Arrow_value_the_column_cannot_hold_is_INVALID_ARGUMENT_naming_message_column_and_row()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec.Replace("name: pandas-arrow", "name: pandas-arrow-bad"), Replace = true, Start = true });
        var batch = new Apache.Arrow.RecordBatch.Builder()
            .Append("count", false, new Apache.Arrow.Int64Array.Builder().Append(1).Append(5_000_000_000).Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new Apache.Arrow.Ipc.ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        var ingest = host.DataPlane().Ingest();
        await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "pandas-arrow-bad", ArrowIpc = ByteString.CopyFrom(stream.ToArray()) });
        try { await ingest.RequestStream.CompleteAsync(); }
        catch (RpcException) { /* the status comes from the response */ }
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await ingest.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("Ingest message 0: column 'count' row 1: the value 5000000000 does not fit int32", ex.Status.Detail);
    }

    private static void AssertText(JsonElement expected, Value actual, int row)
    {
        if (expected.ValueKind == JsonValueKind.Null) Assert.True(actual.KindCase == Value.KindOneofCase.None, $"row {row}: expected null, got {actual}");
        else Assert.Equal(expected.GetString(), actual.Text);
    }

    /// <summary>The expected microseconds: seconds and milliseconds multiplied, nanoseconds (divisor given as negative)
    /// floored to the microsecond at or before the instant.</summary>
    private static long Micros(JsonElement root, string column, int row, long factor)
    {
        var raw = long.Parse(root.GetProperty(column)[row].GetString()!);
        if (factor > 0) return raw * factor;
        var divisor = -factor;
        return raw >= 0 ? raw / divisor : -((-raw + divisor - 1) / divisor);
    }

    private static async Task<(byte[] Arrow, JsonDocument Expected)> WriteWithNodeAsync()
    {
        var (node, clientFolder, _) = await NodeTool.PrepareAsync("apache-arrow");
        var folder = Directory.CreateTempSubdirectory("streamml-pandas-arrow-");
        try
        {
            var arrowPath = Path.Combine(folder.FullName, "frame.arrow");
            var jsonPath = Path.Combine(folder.FullName, "frame.json");
            var (code, _, error) = await NodeTool.RunAsync(node, [Path.Combine(clientFolder, "pandas-arrow.mjs"), arrowPath, jsonPath], clientFolder);
            Assert.True(code == 0, $"node exited {code}: {error}");
            return (await File.ReadAllBytesAsync(arrowPath), JsonDocument.Parse(await File.ReadAllTextAsync(jsonPath)));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
