using System.Buffers;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Host.Grpc;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Testing;
using Field = StreamMl.Engine.Field;
using Schema = StreamMl.Engine.Schema;

namespace StreamMl.Host.Tests.Pipelines;

/// <summary>Ingest's Arrow path: the message read into a pooled array (IngestRequestReader) and the columns copied once,
/// straight into the ring batch (ArrowDirectCopy), give the rows Apache.Arrow's own reader gives, bit for bit, nulls
/// included; messages that need converting take the staging path and agree too; and a message costs no copy of its
/// payload on the heap.</summary>
public sealed class ArrowIngestCopyTests
{
    private static readonly Schema s_schema = new(
        new Field("id", ColumnType.Int64, false), new Field("count", ColumnType.Int32), new Field("ratio", ColumnType.Float32),
        new Field("amount", ColumnType.Float64), new Field("at", ColumnType.Timestamp), new Field("seen", ColumnType.Timestamp),
        new Field("absent", ColumnType.Float64));

    /// <summary>Random values of every type the direct copy takes, with nulls in the nullable columns and float bit
    /// patterns a conversion would not keep (NaN payloads, -0, infinities, subnormals).</summary>
    private static RecordBatch Batch(int rows, int seed, bool int64Count = false)
    {
        var random = new Random(seed);
        bool Null() => random.Next(7) == 0;
        var id = new Int64Array.Builder();
        var count = new Int32Array.Builder();
        var wideCount = new Int64Array.Builder();
        var ratio = new FloatArray.Builder();
        var amount = new DoubleArray.Builder();
        var at = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, (string?)null));
        var seen = new Int64Array.Builder();
        float[] oddFloats = [float.NaN, BitConverter.Int32BitsToSingle(0x7FC12345), -0f, float.PositiveInfinity, float.Epsilon];
        double[] oddDoubles = [double.NaN, BitConverter.Int64BitsToDouble(0x7FF8_0000_DEAD_BEEF), -0d, double.NegativeInfinity, double.Epsilon];
        for (var r = 0; r < rows; r++)
        {
            id.Append(random.NextInt64(long.MinValue, long.MaxValue));
            if (Null()) { count.AppendNull(); wideCount.AppendNull(); }
            else
            {
                var value = random.Next(int.MinValue, int.MaxValue);
                count.Append(value);
                wideCount.Append(value);
            }
            if (Null()) ratio.AppendNull();
            else ratio.Append(random.Next(10) == 0 ? oddFloats[random.Next(oddFloats.Length)] : (float)(random.NextDouble() * 1e6 - 5e5));
            if (Null()) amount.AppendNull();
            else amount.Append(random.Next(10) == 0 ? oddDoubles[random.Next(oddDoubles.Length)] : random.NextDouble() * 1e12 - 5e11);
            if (Null()) at.AppendNull();
            else at.Append(DateTimeOffset.FromUnixTimeMilliseconds(random.NextInt64(0, 4_000_000_000_000)).AddTicks(random.Next(10_000)));
            if (Null()) seen.AppendNull();
            else seen.Append(random.NextInt64(-1_000_000_000_000, 1_000_000_000_000));
        }
        return new RecordBatch.Builder()
            .Append("seen", true, seen.Build())
            .Append("id", false, id.Build())
            .Append("count", true, int64Count ? (IArrowArray)wideCount.Build() : count.Build())
            .Append("ratio", true, ratio.Build())
            .Append("amount", true, amount.Build())
            .Append("at", true, at.Build())
            .Build();
    }

    private static byte[] Ipc(params RecordBatch[] batches)
    {
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batches[0].Schema, leaveOpen: true))
        {
            foreach (var batch in batches) writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    /// <summary>A serialized Ingest message as a sequence of small segments, as Kestrel's buffers hand it over.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segment)
    {
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += segment)
        {
            var next = new Segment(bytes.AsMemory(at, Math.Min(segment, bytes.Length - at)), last);
            first ??= next;
            last = next;
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is null) return;
            RunningIndex = previous.RunningIndex + previous.Memory.Length;
            previous.Next = this;
        }
    }

    /// <summary>Each row as Apache.Arrow's reader sees it: per input column, null or the value's bits.</summary>
    private static List<long?[]> ArrowRows(byte[] ipc)
    {
        var rows = new List<long?[]>();
        using var reader = new ArrowStreamReader(ipc);
        while (reader.ReadNextRecordBatch() is { } batch)
            using (batch)
                for (var r = 0; r < batch.Length; r++)
                    rows.Add([.. s_schema.Select(f => ArrowBits(batch, f.Name, r))]);
        return rows;
    }

    private static long? ArrowBits(RecordBatch batch, string name, int row)
    {
        var index = batch.Schema.GetFieldIndex(name);
        if (index < 0) return null;
        return batch.Column(index) switch
        {
            Int64Array a => a.GetValue(row),
            Int32Array a => a.GetValue(row),
            FloatArray a => a.GetValue(row) is { } f ? BitConverter.SingleToInt32Bits(f) : null,
            DoubleArray a => a.GetValue(row) is { } d ? BitConverter.DoubleToInt64Bits(d) : null,
            TimestampArray a => a.IsNull(row) ? null : a.Values[row],
            var other => throw new InvalidOperationException(other.GetType().Name),
        };
    }

    private static long? BatchBits(ColumnBatch batch, int column, int row)
    {
        var values = batch[column];
        if (!values.IsValid(row)) return null;
        return values.Type switch
        {
            ColumnType.Int32 => values.Values<int>()[row],
            ColumnType.Float32 => BitConverter.SingleToInt32Bits(values.Values<float>()[row]),
            ColumnType.Float64 => BitConverter.DoubleToInt64Bits(values.Values<double>()[row]),
            _ => values.Values<long>()[row],
        };
    }

    /// <summary>Ingests the messages through the source and reads every row the pipeline would see, in batches of
    /// <paramref name="capacity"/> rows.</summary>
    private static async Task<(List<long?[]> Rows, List<long> Offsets)> IngestAsync(IEnumerable<IngestRequest> messages, int capacity, int expected)
    {
        var source = new GrpcIngestSource("grpc", s_schema, capacity, queueBatches: 64, eventTimeColumn: "at");
        var rows = new List<long?[]>();
        var offsets = new List<long>();
        using var batch = new ColumnBatch(s_schema, capacity);
        foreach (var message in messages)
            try
            {
                await source.AcceptAsync(message, "test", CancellationToken.None);
            }
            finally
            {
                message.ReleasePayload(); // as IngestSession does
            }
        while (rows.Count < expected)
        {
            batch.Reset();
            Assert.True(await source.FillAsync(batch, CancellationToken.None));
            for (var r = 0; r < batch.Length; r++)
            {
                rows.Add([.. Enumerable.Range(0, s_schema.Count).Select(c => BatchBits(batch, c, r))]);
                offsets.Add(batch.RowOffsets[r]);
                // The event-time column's value, or 0 for a null one (as the engine's conversion leaves it).
                Assert.Equal(batch[4].IsValid(r) ? batch[4].Values<long>()[r] : 0, batch.EventTimes[r]);
            }
        }
        await source.DisposeAsync();
        return (rows, offsets);
    }

    private static IngestRequest Pooled(byte[] ipc, int segment) =>
        IngestRequestReader.Parse(Segmented(new IngestRequest { Pipeline = "p", ArrowIpc = ByteString.CopyFrom(ipc) }.ToByteArray(), segment));

    [Theory]
    [InlineData(1000, 256, 3)] // a message larger than a batch: chunks split and merged across batches
    [InlineData(100, 4096, 1)]
    [InlineData(4096, 4096, 4096)]
    public async Task Rows_copied_straight_from_the_pooled_payload_equal_Apache_Arrows_reader_bit_for_bit(int rows, int capacity, int segment)
    {
        Assert.True(ArrowDirectCopy.TryPlan(Batch(rows, 1), s_schema, new int[s_schema.Count])); // the direct path, not staging
        var ipcs = new[] { Ipc(Batch(rows, 1), Batch(rows / 3 + 1, 2)), Ipc(Batch(rows, 3)) };
        var messages = ipcs.Select(ipc => Pooled(ipc, segment)).ToList();
        Assert.All(messages, m => Assert.NotNull(m.PooledPayload));
        var expected = ipcs.SelectMany(ArrowRows).ToList();
        var (actual, offsets) = await IngestAsync(messages, capacity, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        for (var r = 0; r < expected.Count; r++) Assert.True(expected[r].SequenceEqual(actual[r]), $"row {r}: {string.Join(",", expected[r])} vs {string.Join(",", actual[r])}");
        Assert.Equal(Enumerable.Range(0, expected.Count).Select(i => (long)i), offsets);
    }

    [Fact]
    public async Task A_column_that_needs_converting_takes_the_staging_path_and_gives_the_same_rows()
    {
        // "count" as int64 into the int32 column: converted (range-checked) through a staging batch.
        Assert.False(ArrowDirectCopy.TryPlan(Batch(700, 9, int64Count: true), s_schema, new int[s_schema.Count]));
        var ipc = Ipc(Batch(700, 9, int64Count: true));
        var expected = ArrowRows(ipc);
        var (actual, _) = await IngestAsync([Pooled(ipc, 100), Pooled(ipc, 4096)], 256, expected.Count * 2);
        var twice = expected.Concat(expected).ToList();
        for (var r = 0; r < twice.Count; r++) Assert.True(twice[r].SequenceEqual(actual[r]), $"row {r}");
    }

    [Fact]
    public async Task A_null_in_a_required_column_is_refused_naming_the_row_and_column()
    {
        var id = new Int64Array.Builder().Append(1).AppendNull().Append(3).Build();
        var batch = new RecordBatch.Builder().Append("id", true, id).Build();
        var source = new GrpcIngestSource("grpc", s_schema, 16, queueBatches: 4, eventTimeColumn: null);
        var ex = await Assert.ThrowsAsync<BadInputException>(async () => await source.AcceptAsync(Pooled(Ipc(batch), 7), "Ingest message 0", CancellationToken.None));
        Assert.Contains("row 1 column 'id' is null but the column is required", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, source.Lag);
        await source.DisposeAsync();
    }

    [Fact]
    public void The_reader_parses_every_message_as_protobuf_does()
    {
        var ipc = Ipc(Batch(50, 4));
        var rows = new RowSet { Columns = { "id" }, Rows = { new Row { Values = { new Value { Integer = 5 } } } } };
        IngestRequest[] messages =
        [
            new() { Pipeline = "p", ArrowIpc = ByteString.CopyFrom(ipc), Producer = "producer-1", Sequence = 42 },
            new() { ArrowIpc = ByteString.CopyFrom(ipc) },
            new() { Pipeline = "p", Rows = rows },
            new() { Pipeline = "p" },
            new() { Pipeline = "p", ArrowIpc = ByteString.Empty }, // present but empty: protobuf's, and refused later as unreadable
            new(),
        ];
        foreach (var message in messages)
        {
            var bytes = message.ToByteArray();
            foreach (var segment in new[] { 1, 3, 64, 1 << 20 })
            {
                var parsed = IngestRequestReader.Parse(Segmented(bytes, segment));
                Assert.Equal(IngestRequest.Parser.ParseFrom(bytes), parsed);
                Assert.Equal(message.ArrowIpc.Length > 0, parsed.PooledPayload is not null);
                parsed.ReleasePayload();
            }
        }
        // Fields in any order, the payload twice (the last wins), rows after the payload (the oneof's last wins), and an
        // unknown field: the reader leaves these to protobuf, whose answer it gives.
        var payload = new IngestRequest { ArrowIpc = ByteString.CopyFrom(ipc) }.ToByteArray();
        var name = new IngestRequest { Pipeline = "p", Sequence = 7 }.ToByteArray();
        var other = new IngestRequest { ArrowIpc = ByteString.CopyFrom([1, 2, 3]) }.ToByteArray();
        var withRows = new IngestRequest { Rows = rows }.ToByteArray();
        byte[] unknown = [0xA8, 0x1F, 0x05]; // field 501, varint 5
        foreach (var bytes in new byte[][] { [.. payload, .. name], [.. payload, .. other], [.. payload, .. withRows], [.. withRows, .. payload], [.. unknown, .. payload, .. name] })
        {
            var parsed = IngestRequestReader.Parse(Segmented(bytes, 5));
            Assert.Equal(IngestRequest.Parser.ParseFrom(bytes), parsed);
            parsed.ReleasePayload();
        }
    }

    [Fact]
    public void Truncated_and_damaged_messages_fail_as_protobuf_fails()
    {
        var bytes = new IngestRequest { Pipeline = "p", ArrowIpc = ByteString.CopyFrom(Ipc(Batch(20, 5))), Sequence = 3 }.ToByteArray();
        var random = new Random(8);
        for (var trial = 0; trial < 400; trial++)
        {
            var copy = trial < 200 ? bytes[..random.Next(bytes.Length)] : (byte[])bytes.Clone();
            if (trial >= 200) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            IngestRequest? expected = null;
            try
            {
                expected = IngestRequest.Parser.ParseFrom(copy);
            }
            catch (InvalidProtocolBufferException)
            {
            }
            if (expected is null)
            {
                Assert.Throws<InvalidProtocolBufferException>(() => IngestRequestReader.Parse(Segmented(copy, 11)));
                continue;
            }
            var parsed = IngestRequestReader.Parse(Segmented(copy, 11));
            Assert.Equal(expected, parsed);
            parsed.ReleasePayload();
        }
    }

    [Fact]
    public async Task A_message_costs_no_copy_of_its_payload_on_the_heap()
    {
        const int Rows = 4096;
        var schema = new Schema(Enumerable.Range(0, 25).Select(i => new Field($"c{i}", ColumnType.Int64)));
        var builder = new RecordBatch.Builder();
        for (var c = 0; c < 25; c++) builder.Append($"c{c}", true, new Int64Array.Builder().AppendRange(Enumerable.Range(0, Rows).Select(i => (long)i * c)).Build());
        var ipc = Ipc(builder.Build());
        var message = new IngestRequest { Pipeline = "p", ArrowIpc = ByteString.CopyFrom(ipc) }.ToByteArray();
        var sequence = Segmented(message, 4096); // Kestrel's buffers are 4 KB
        var source = new GrpcIngestSource("grpc", schema, Rows, queueBatches: 4, eventTimeColumn: null);
        using var batch = new ColumnBatch(schema, Rows);
        var allocated = SteadyState.AllocatedBytes(() =>
        {
            var request = IngestRequestReader.Parse(sequence);
            var accept = source.AcceptAsync(request, "test", CancellationToken.None);
            Assert.True(accept.IsCompletedSuccessfully);
            request.ReleasePayload();
            batch.Reset();
            var fill = source.FillAsync(batch, CancellationToken.None);
            Assert.True(fill.IsCompletedSuccessfully && fill.Result && batch.Length == Rows);
        }, iterations: 20);
        // What is left per message is Apache.Arrow's reader (its schema and array objects) and the request object: a
        // small fraction of the 820 KB payload that protobuf copied into a new array before.
        Assert.True(allocated / 20 < ipc.Length / 20, $"{allocated / 20} bytes per message of {ipc.Length}");
        Assert.Equal((long)Rows * 24, batch["c24"].Values<long>()[Rows - 1] + 24);
        await source.DisposeAsync();
    }
}
