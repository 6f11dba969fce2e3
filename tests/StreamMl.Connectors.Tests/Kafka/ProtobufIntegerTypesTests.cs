using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;
using EngineField = StreamMl.Engine.Field;
using EngineSchema = StreamMl.Engine.Schema;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>Protobuf integer fields are read as their declared scalar type (issue 12 item 18). Before the fix the
/// decoder read every varint as a two's-complement int: a <c>sint64</c> -1 (zigzag 1) became 1, <c>sint32</c>
/// int.MinValue became -1 (after truncation), with no error; and an int32 column silently kept the low 32 bits of a
/// larger value. The reference encoder is Google.Protobuf's <see cref="CodedOutputStream"/>.</summary>
public sealed class ProtobufIntegerTypesTests
{
    private static readonly EngineSchema s_schema = new(
        new EngineField("s32", ColumnType.Int32),
        new EngineField("s64", ColumnType.Int64),
        new EngineField("u32", ColumnType.Int64),
        new EngineField("f32", ColumnType.Int32),
        new EngineField("sf64", ColumnType.Int64),
        new EngineField("plain", ColumnType.Int32),
        new EngineField("at", ColumnType.Timestamp));

    private static MessageCodecOptions Options() => new()
    {
        Format = MessageFormat.Protobuf,
        TimestampUnit = TimestampUnit.Seconds,
        ProtobufTypes =
        {
            ["s32"] = ProtobufScalar.SInt32,
            ["s64"] = ProtobufScalar.SInt64,
            ["u32"] = ProtobufScalar.UInt32,
            ["f32"] = ProtobufScalar.SFixed32,
            ["sf64"] = ProtobufScalar.SFixed64,
            ["at"] = ProtobufScalar.SInt64,
        },
    };

    private static MessageDecoder Decoder(MessageCodecOptions options)
    {
        var decoder = new MessageDecoder([.. s_schema], options);
        decoder.Bind(s_schema);
        return decoder;
    }

    private static byte[] Encode(int s32, long s64, uint u32, int f32, long sf64, int plain, long atSeconds)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(1, WireFormat.WireType.Varint); output.WriteSInt32(s32);
        output.WriteTag(2, WireFormat.WireType.Varint); output.WriteSInt64(s64);
        output.WriteTag(3, WireFormat.WireType.Varint); output.WriteUInt32(u32);
        output.WriteTag(4, WireFormat.WireType.Fixed32); output.WriteSFixed32(f32);
        output.WriteTag(5, WireFormat.WireType.Fixed64); output.WriteSFixed64(sf64);
        output.WriteTag(6, WireFormat.WireType.Varint); output.WriteInt32(plain);
        output.WriteTag(7, WireFormat.WireType.Varint); output.WriteSInt64(atSeconds);
        output.Flush();
        return stream.ToArray();
    }

    public static TheoryData<int, long> Extremes => new()
    {
        { 0, 0 }, { -1, -1 }, { 1, 1 }, { int.MinValue, long.MinValue }, { int.MaxValue, long.MaxValue },
        { -64, -8_589_934_592 }, { 63, 8_589_934_591 },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void Negative_and_extreme_values_written_by_Google_Protobuf_read_back_exactly(int small, long large)
    {
        var decoder = Decoder(Options());
        using var batch = new ColumnBatch(s_schema, 1) { Length = 1 };
        var atSeconds = large / 1_000_000; // a timestamp must fit microseconds
        Assert.True(decoder.TryDecodeRow(Encode(small, large, unchecked((uint)small), small, large, small, atSeconds), batch, 0, out var error), error);
        Assert.Equal(small, batch["s32"].Values<int>()[0]);
        Assert.Equal(large, batch["s64"].Values<long>()[0]);
        Assert.Equal((long)unchecked((uint)small), batch["u32"].Values<long>()[0]);
        Assert.Equal(small, batch["f32"].Values<int>()[0]);
        Assert.Equal(large, batch["sf64"].Values<long>()[0]);
        Assert.Equal(small, batch["plain"].Values<int>()[0]);
        Assert.Equal(atSeconds * 1_000_000, batch["at"].Values<long>()[0]);
    }

    [Property(MaxTest = 300)]
    public Property Any_sint32_and_sint64_decodes_to_the_value_Google_Protobuf_encoded(int small, long large, uint unsigned)
    {
        var decoder = Decoder(Options());
        using var batch = new ColumnBatch(s_schema, 1) { Length = 1 };
        var atSeconds = large / 1_000_000;
        var decoded = decoder.TryDecodeRow(Encode(small, large, unsigned, small, large, small, atSeconds), batch, 0, out var error);
        return (decoded
                && batch["s32"].Values<int>()[0] == small
                && batch["s64"].Values<long>()[0] == large
                && batch["u32"].Values<long>()[0] == unsigned
                && batch["f32"].Values<int>()[0] == small
                && batch["sf64"].Values<long>()[0] == large
                && batch["at"].Values<long>()[0] == atSeconds * 1_000_000).ToProperty().Label(error ?? "values differ");
    }

    [Fact]
    public void A_value_that_does_not_fit_its_column_is_an_error_naming_the_column_not_a_truncated_number()
    {
        var decoder = Decoder(Options());
        using var batch = new ColumnBatch(s_schema, 1) { Length = 1 };
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(6, WireFormat.WireType.Varint); output.WriteInt64(5_000_000_000);
        output.Flush();
        Assert.False(decoder.TryDecodeRow(stream.ToArray(), batch, 0, out var error));
        Assert.Equal("protobuf int32 value 5000000000 of column 'plain' does not fit a int32 column", error);
    }

    [Fact]
    public void A_wire_type_that_does_not_fit_the_declared_type_is_an_error()
    {
        var decoder = Decoder(Options());
        using var batch = new ColumnBatch(s_schema, 1) { Length = 1 };
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(4, WireFormat.WireType.Varint); output.WriteInt32(7); // declared sfixed32
        output.Flush();
        Assert.False(decoder.TryDecodeRow(stream.ToArray(), batch, 0, out var error));
        Assert.StartsWith("protobuf field of column 'f32' has wire type 0, which does not fit a sfixed32 field", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_encoder_writes_the_declared_types_so_Google_Protobuf_reads_them()
    {
        var options = Options();
        var encoder = new MessageEncoder(options);
        encoder.Bind(s_schema, null);
        using var batch = new ColumnBatch(s_schema, 1) { Length = 1 };
        batch["s32"].Values<int>()[0] = int.MinValue;
        batch["s64"].Values<long>()[0] = -3;
        batch["u32"].Values<long>()[0] = uint.MaxValue;
        batch["f32"].Values<int>()[0] = -2;
        batch["sf64"].Values<long>()[0] = long.MinValue;
        batch["plain"].Values<int>()[0] = -5;
        batch["at"].Values<long>()[0] = -7_000_000;
        var input = new CodedInputStream(encoder.EncodeRow(batch, 0).ToArray());
        Assert.Equal(WireFormat.MakeTag(1, WireFormat.WireType.Varint), input.ReadTag()); Assert.Equal(int.MinValue, input.ReadSInt32());
        Assert.Equal(WireFormat.MakeTag(2, WireFormat.WireType.Varint), input.ReadTag()); Assert.Equal(-3, input.ReadSInt64());
        Assert.Equal(WireFormat.MakeTag(3, WireFormat.WireType.Varint), input.ReadTag()); Assert.Equal(uint.MaxValue, input.ReadUInt32());
        Assert.Equal(WireFormat.MakeTag(4, WireFormat.WireType.Fixed32), input.ReadTag()); Assert.Equal(-2, input.ReadSFixed32());
        Assert.Equal(WireFormat.MakeTag(5, WireFormat.WireType.Fixed64), input.ReadTag()); Assert.Equal(long.MinValue, input.ReadSFixed64());
        Assert.Equal(WireFormat.MakeTag(6, WireFormat.WireType.Varint), input.ReadTag()); Assert.Equal(-5, input.ReadInt32());
        Assert.Equal(WireFormat.MakeTag(7, WireFormat.WireType.Varint), input.ReadTag()); Assert.Equal(-7, input.ReadSInt64());
    }

    [Fact]
    public void Types_for_unknown_or_non_integer_columns_are_refused()
    {
        var unknown = new MessageCodecOptions { Format = MessageFormat.Protobuf, ProtobufTypes = { ["nope"] = ProtobufScalar.SInt64 } };
        var ex = Assert.Throws<ConnectorConfigurationException>(() => Decoder(unknown));
        Assert.StartsWith("protobuf type is given for column 'nope', which is not in the payload columns (s32, s64", ex.Message, StringComparison.Ordinal);
        var schema = new EngineSchema(new EngineField("x", ColumnType.Float32));
        var floaty = new MessageCodecOptions { Format = MessageFormat.Protobuf, ProtobufTypes = { ["x"] = ProtobufScalar.SInt32 } };
        ex = Assert.Throws<ConnectorConfigurationException>(() => new MessageDecoder([.. schema], floaty));
        Assert.Equal("protobuf type sint32 is given for column 'x', which is float32; protobuf types apply to int32, int64 and timestamp columns only", ex.Message);
    }
}
