using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using StreamMl.Connectors.Internal;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using EngineField = StreamMl.Engine.Field;
using EngineSchema = StreamMl.Engine.Schema;

namespace StreamMl.Connectors.Tests.Kafka;

public sealed class MessageFormatTests
{
    private static readonly EngineSchema s_schema = new(
        new EngineField("name", ColumnType.String),
        new EngineField("temp", ColumnType.Float32),
        new EngineField("pressure", ColumnType.Float64),
        new EngineField("count", ColumnType.Int32),
        new EngineField("total", ColumnType.Int64),
        new EngineField("ok", ColumnType.Bool),
        new EngineField("at", ColumnType.Timestamp));

    private static MessageDecoder Decoder(MessageCodecOptions options)
    {
        var decoder = new MessageDecoder([.. s_schema], options);
        decoder.Bind(s_schema);
        return decoder;
    }

    [Fact]
    public void Json_paths_reach_nested_values_missing_become_null_and_type_errors_name_the_field()
    {
        var options = new MessageCodecOptions { JsonPaths = { ["temp"] = "$.reading.temp", ["at"] = "meta.time" } };
        var decoder = Decoder(options);
        using var batch = new ColumnBatch(s_schema, 4);
        var json = """{"name":"a\"b","reading":{"temp":21.5,"unit":"C","hist":[1,2]},"pressure":1013.25,"count":7,"total":12345678901,"ok":true,"meta":{"time":"2024-03-01T12:00:00.5Z"}}""";
        Assert.True(decoder.TryDecodeRow(Encoding.UTF8.GetBytes(json), batch, 0, out var error), error);
        batch.Length = 1;
        Assert.Equal("a\"b", batch[0].Dictionary![batch[0].Values<int>()[0]]);
        Assert.Equal(21.5f, batch[1].Values<float>()[0]);
        Assert.Equal(1013.25, batch[2].Values<double>()[0]);
        Assert.Equal(7, batch[3].Values<int>()[0]);
        Assert.Equal(12345678901L, batch[4].Values<long>()[0]);
        Assert.Equal(1, batch[5].Values<byte>()[0]);
        Assert.Equal((new DateTime(2024, 3, 1, 12, 0, 0, 500, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks) / 10, batch[6].Values<long>()[0]);

        Assert.True(decoder.TryDecodeRow("""{"name":"x"}"""u8, batch, 1, out error), error);
        batch.Length = 2;
        Assert.False(batch[1].IsValid(1));
        Assert.True(batch[0].IsValid(1));

        Assert.False(decoder.TryDecodeRow("""{"count":"many"}"""u8, batch, 2, out error));
        Assert.Contains("'count'", error);
        Assert.False(decoder.TryDecodeRow("""[1,2]"""u8, batch, 2, out error));
        Assert.False(decoder.TryDecodeRow("""{"name": """u8, batch, 2, out error));
        Assert.Contains("JSON", error);
    }

    [Fact]
    public void Json_decoding_allocates_nothing_per_message_once_strings_are_known()
    {
        var decoder = Decoder(new MessageCodecOptions { JsonPaths = { ["temp"] = "reading.temp" } });
        using var batch = new ColumnBatch(s_schema, 1024);
        var payloads = Enumerable.Range(0, 1024).Select(i => Encoding.UTF8.GetBytes(
            $$"""{"name":"dev-{{i % 8}}","reading":{"temp":{{i * 0.5}}},"pressure":{{i}}.25,"count":{{i}},"total":{{i * 1000L}},"ok":{{(i % 2 == 0 ? "true" : "false")}},"at":{{1_700_000_000_000L + i}}}""")).ToArray();
        for (var row = 0; row < payloads.Length; row++) Assert.True(decoder.TryDecodeRow(payloads[row], batch, row, out _));
        Assert.Equal(0, SteadyState.AllocatedBytes(() =>
        {
            for (var row = 0; row < payloads.Length; row++) decoder.TryDecodeRow(payloads[row], batch, row, out _);
        }, 5));
    }

    [Fact]
    public void Json_properties_in_changing_order_with_unknown_and_nested_ones_decode_like_JsonDocument()
    {
        // The decoder predicts each property from the previous message's order; shuffle the order, insert unknown
        // properties and turn a mapped name into an object now and then, and compare with System.Text.Json's DOM.
        var decoder = Decoder(new MessageCodecOptions { JsonPaths = { ["temp"] = "reading.temp" } });
        using var batch = new ColumnBatch(s_schema, 1);
        var random = new Random(11);
        for (var i = 0; i < 400; i++)
        {
            var properties = new List<string>
            {
                $"\"name\":\"n{i % 9}\"", $"\"reading\":{{\"temp\":{i * 0.25}}}", $"\"pressure\":{i}.5", $"\"count\":{i}",
                $"\"total\":{i * 7L}", $"\"ok\":{(i % 3 == 0 ? "true" : "false")}", $"\"at\":{1_700_000_000_000L + i}",
            };
            if (i % 4 == 0) properties.Add($"\"extra{i % 3}\":[1,{{\"count\":5}}]");
            if (i % 5 == 0) properties[3] = "\"count\":{\"nested\":1}"; // not a number: the field stays unset (null)
            var order = i % 2 == 0 ? properties : [.. properties.OrderBy(_ => random.Next())];
            var json = "{" + string.Join(",", order) + "}";
            Assert.True(decoder.TryDecodeRow(Encoding.UTF8.GetBytes(json), batch, 0, out var error), error);
            using var reference = JsonDocument.Parse(json);
            var root = reference.RootElement;
            Assert.Equal(root.GetProperty("name").GetString(), batch[0].Dictionary![batch[0].Values<int>()[0]]);
            Assert.Equal(root.GetProperty("reading").GetProperty("temp").GetSingle(), batch[1].Values<float>()[0]);
            Assert.Equal(root.GetProperty("pressure").GetDouble(), batch[2].Values<double>()[0]);
            if (root.GetProperty("count").ValueKind == JsonValueKind.Number) Assert.Equal(root.GetProperty("count").GetInt32(), batch[3].Values<int>()[0]);
            else Assert.False(batch[3].IsValid(0));
            Assert.Equal(root.GetProperty("total").GetInt64(), batch[4].Values<long>()[0]);
            Assert.Equal(root.GetProperty("ok").GetBoolean() ? 1 : 0, batch[5].Values<byte>()[0]);
            Assert.Equal(root.GetProperty("at").GetInt64() * 1000, batch[6].Values<long>()[0]);
        }
    }

    [Fact]
    public void Json_object_under_an_empty_property_name_is_skipped_like_any_unknown_property()
    {
        // "" is a valid JSON property name; an object under it must not crash the decoder, in the first message or
        // after the decoder has learned a property order.
        var decoder = Decoder(new MessageCodecOptions());
        using var batch = new ColumnBatch(s_schema, 2);
        var first = """{"":{"count":5},"name":"a","count":3}""";
        Assert.True(decoder.TryDecodeRow(Encoding.UTF8.GetBytes(first), batch, 0, out var error), error);
        var second = """{"name":"b","":{"count":9,"deeper":{"x":1}},"total":4}""";
        Assert.True(decoder.TryDecodeRow(Encoding.UTF8.GetBytes(second), batch, 1, out error), error);
        batch.Length = 2;
        Assert.Equal("a", batch[0].Dictionary![batch[0].Values<int>()[0]]);
        Assert.Equal(3, batch[3].Values<int>()[0]);
        Assert.Equal("b", batch[0].Dictionary![batch[0].Values<int>()[1]]);
        Assert.False(batch[3].IsValid(1));
        Assert.Equal(4L, batch[4].Values<long>()[1]);
    }

    [Fact]
    public void Json_escaped_duplicate_and_missing_properties_decode_like_JsonDocument_after_a_learned_order()
    {
        // The order learned from one message must not leak into the next: escaped names match their unescaped field,
        // the last of duplicate names wins as in the DOM's enumeration, and absent properties are null, not stale.
        var decoder = Decoder(new MessageCodecOptions());
        using var batch = new ColumnBatch(s_schema, 1);
        Assert.True(decoder.TryDecodeRow("""{"name":"a","temp":1.5,"pressure":2.5,"count":1,"total":2,"ok":true,"at":3}"""u8, batch, 0, out var error), error);
        Assert.True(decoder.TryDecodeRow("""{"name":"b","count":7,"count":8,"temp":{"pressure":9}}"""u8, batch, 0, out error), error);
        Assert.Equal("b", batch[0].Dictionary![batch[0].Values<int>()[0]]);
        Assert.Equal(8, batch[3].Values<int>()[0]);
        Assert.False(batch[1].IsValid(0));
        Assert.False(batch[2].IsValid(0));
        Assert.False(batch[4].IsValid(0));
        Assert.False(batch[5].IsValid(0));
        Assert.False(batch[6].IsValid(0));
    }

    [Fact]
    public void Json_with_invalid_utf8_in_a_name_or_a_string_is_a_decode_error_not_an_exception()
    {
        var decoder = Decoder(new MessageCodecOptions());
        using var batch = new ColumnBatch(s_schema, 1);
        byte[][] payloads =
        [
            [.. "{\"name\":\"a"u8, 0xFF, .. "\",\"count\":1}"u8],
            [.. "{\"na"u8, 0xC3, .. "me\":\"a\",\"count\":1}"u8],
            [.. "{\"count\":1,\"x"u8, 0xFE, .. "\":{\"y\":2}}"u8],
        ];
        foreach (var payload in payloads)
        {
            Assert.False(decoder.TryDecodeRow(payload, batch, 0, out var error));
            Assert.Contains("UTF-8", error);
        }
    }

    [Fact]
    public void Csv_lines_with_quotes_and_empty_fields_decode_like_a_plain_reference_split()
    {
        var decoder = Decoder(new MessageCodecOptions { Format = MessageFormat.Csv });
        using var batch = new ColumnBatch(s_schema, 4);
        Assert.True(decoder.TryDecodeRow("\"x, \"\"quoted\"\"\",1.5,2.25,3,4,true,1700000000000\r\n"u8, batch, 0, out var error), error);
        Assert.True(decoder.TryDecodeRow("plain,,,-3,,0,2024-01-01T00:00:00Z"u8, batch, 1, out error), error);
        batch.Length = 2;
        Assert.Equal("x, \"quoted\"", batch[0].Dictionary![batch[0].Values<int>()[0]]);
        Assert.Equal(1.5f, batch[1].Values<float>()[0]);
        Assert.Equal(1_700_000_000_000_000L, batch[6].Values<long>()[0]);
        Assert.False(batch[1].IsValid(1));
        Assert.False(batch[2].IsValid(1));
        Assert.Equal(-3, batch[3].Values<int>()[1]);
        Assert.Equal(0, batch[5].Values<byte>()[1]);
        Assert.False(decoder.TryDecodeRow("a,1,2,3"u8, batch, 2, out error));
        Assert.Contains("fields", error);
        Assert.False(decoder.TryDecodeRow("a,warm,2,3,4,true,5"u8, batch, 2, out error));
        Assert.Contains("'temp'", error);
    }

    [Property(MaxTest = 200)]
    public Property Protobuf_messages_written_by_Google_Protobuf_decode_to_the_same_values(string? name, float temp, double pressure, int count, long total, bool ok, long atMillis)
    {
        name ??= "";
        atMillis = Math.Abs(atMillis % 4_000_000_000_000L);
        // Reference encoder: Google.Protobuf's CodedOutputStream, fields 1..7 as the decoder's default numbering.
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited); output.WriteString(name);
        output.WriteTag(2, WireFormat.WireType.Fixed32); output.WriteFloat(temp);
        output.WriteTag(3, WireFormat.WireType.Fixed64); output.WriteDouble(pressure);
        output.WriteTag(4, WireFormat.WireType.Varint); output.WriteInt32(count);
        output.WriteTag(5, WireFormat.WireType.Varint); output.WriteInt64(total);
        output.WriteTag(6, WireFormat.WireType.Varint); output.WriteBool(ok);
        output.WriteTag(99, WireFormat.WireType.LengthDelimited); output.WriteString("unknown field, skipped");
        output.WriteTag(7, WireFormat.WireType.Varint); output.WriteInt64(atMillis);
        output.Flush();
        var decoder = Decoder(new MessageCodecOptions { Format = MessageFormat.Protobuf });
        using var batch = new ColumnBatch(s_schema, 1);
        var decoded = decoder.TryDecodeRow(stream.ToArray(), batch, 0, out var error);
        batch.Length = 1;
        return (decoded
                && batch[0].Dictionary![batch[0].Values<int>()[0]] == name
                && batch[1].Values<float>()[0].Equals(temp)
                && batch[2].Values<double>()[0].Equals(pressure)
                && batch[3].Values<int>()[0] == count
                && batch[4].Values<long>()[0] == total
                && batch[5].Values<byte>()[0] == (ok ? 1 : 0)
                && batch[6].Values<long>()[0] == atMillis * 1000).ToProperty().Label(error ?? "values differ");
    }

    [Fact]
    public void Protobuf_nested_google_timestamp_is_read_as_microseconds()
    {
        var timestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(new DateTime(2025, 5, 6, 7, 8, 9, DateTimeKind.Utc).AddTicks(1234560));
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(7, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(timestamp);
        output.Flush();
        var decoder = Decoder(new MessageCodecOptions { Format = MessageFormat.Protobuf });
        using var batch = new ColumnBatch(s_schema, 1);
        Assert.True(decoder.TryDecodeRow(stream.ToArray(), batch, 0, out var error), error);
        Assert.Equal((timestamp.ToDateTime().Ticks - DateTime.UnixEpoch.Ticks) / 10, batch[6].Values<long>()[0]);
    }

    [Fact]
    public void Arrow_ipc_payload_written_by_Apache_Arrow_is_copied_across_batches()
    {
        var names = new StringArray.Builder();
        var temps = new FloatArray.Builder();
        var pressures = new DoubleArray.Builder();
        var counts = new Int32Array.Builder();
        var totals = new Int64Array.Builder();
        var oks = new BooleanArray.Builder();
        var ats = new TimestampArray.Builder(new Apache.Arrow.Types.TimestampType(Apache.Arrow.Types.TimeUnit.Millisecond, "UTC"));
        for (var i = 0; i < 10; i++)
        {
            names.Append($"n{i}");
            if (i == 3) temps.AppendNull(); else temps.Append(i * 1.5f);
            pressures.Append(i * 2.0);
            counts.Append(i);
            totals.Append(i * 10L);
            oks.Append(i % 2 == 0);
            ats.Append(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000L + i));
        }
        var recordBatch = new RecordBatch.Builder()
            .Append("name", true, names.Build()).Append("temp", true, temps.Build()).Append("pressure", true, pressures.Build())
            .Append("count", true, counts.Build()).Append("total", true, totals.Build()).Append("ok", true, oks.Build()).Append("at", true, ats.Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, recordBatch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(recordBatch);
            writer.WriteEnd();
        }
        var decoder = Decoder(new MessageCodecOptions { Format = MessageFormat.ArrowIpc });
        using var payload = decoder.OpenArrow(stream.ToArray(), out var error);
        Assert.NotNull(payload);
        using var batch = new ColumnBatch(s_schema, 6);
        Assert.Equal(6, decoder.CopyArrowRows(payload!, batch, 0, 6));
        batch.Length = 6;
        Assert.False(batch[1].IsValid(3));
        Assert.Equal(7.5f, batch[1].Values<float>()[5]);
        Assert.Equal("n5", batch[0].Dictionary![batch[0].Values<int>()[5]]);
        batch.Reset();
        Assert.Equal(4, decoder.CopyArrowRows(payload!, batch, 0, 6));
        Assert.True(payload!.Done);
        batch.Length = 4;
        Assert.Equal(9, batch[3].Values<int>()[3]);
        Assert.Equal(1_700_000_000_009_000L, batch[6].Values<long>()[3]);
        Assert.Null(decoder.OpenArrow("not arrow"u8.ToArray(), out error));
        Assert.Contains("Arrow", error);
    }

    [Theory]
    [InlineData(MessageFormat.Json)]
    [InlineData(MessageFormat.Csv)]
    [InlineData(MessageFormat.Protobuf)]
    [InlineData(MessageFormat.ArrowIpc)]
    public async Task Kafka_sink_then_source_round_trips_every_row_in_each_format(MessageFormat format)
    {
        using var cluster = new KafkaMockCluster();
        var rows = Enumerable.Range(0, 700).Select(i => new object?[]
        {
            i % 13 == 0 ? null : $"dev,{i % 5}\"", i * 0.25f, i / 3.0, i, i * 1_000_003L, i % 2 == 0, 1_700_000_000_000_000L + i * 1000L,
        }).ToList();
        var codec = new MessageCodecOptions { Format = format };
        var topic = "roundtrip-" + format;
        var producer = new KafkaSink(new KafkaSinkOptions { BootstrapServers = cluster.BootstrapServers, Topic = topic, Codec = codec, KeyColumn = "count" });
        await using (var write = Pipeline.From(new ArraySource(s_schema, rows), new PipelineOptions { Name = "write", BatchCapacity = 256 }).To(producer).Build())
            await write.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(format == MessageFormat.ArrowIpc ? 3 : 700, producer.Delivered);

        var sink = new CollectingSink();
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = cluster.BootstrapServers, Topics = [topic], GroupId = "rt", Schema = s_schema, Codec = codec,
        });
        await using (var read = Pipeline.From(source, new PipelineOptions { Name = "read" }).To(sink).Build())
        {
            await read.StartAsync();
            await sink.WaitForAsync(700, TimeSpan.FromSeconds(60));
            await read.StopAsync();
        }
        // Reference: the input rows formatted the way CollectingSink formats a batch row.
        using var reference = new ColumnBatch(s_schema, 700);
        var referenceSource = new ArraySource(s_schema, rows);
        await referenceSource.FillAsync(reference, default);
        var expected = Enumerable.Range(0, 700).Select(r => CollectingSink.Format(reference, r)).Order().ToList();
        var actual = sink.Rows.Select(r => r.Values).Order().ToList();
        // Nulls survive every format: JSON null, an empty CSV field, an absent protobuf field, an Arrow validity bit.
        Assert.Equal(expected, actual);
    }
}
