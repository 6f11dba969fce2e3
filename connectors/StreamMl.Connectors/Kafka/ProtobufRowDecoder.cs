using System.Buffers.Binary;
using System.Text;
using StreamMl.Engine;

namespace StreamMl.Connectors.Internal;

/// <summary>Decodes one protobuf message into one row by field number, reading the wire format directly (no generated
/// classes, no allocation): varints, fixed32, fixed64 and length-delimited fields. Unknown fields are skipped; absent
/// fields become nulls (proto3 drops defaults on the wire, so a non-nullable absent number reads as 0, as proto3 means).
/// Integer fields are read as their declared <see cref="ProtobufScalar"/> (zigzag for <c>sint32</c>/<c>sint64</c>); a
/// value that does not fit its column is an error naming the column, never a silently truncated number.</summary>
internal sealed class ProtobufRowDecoder
{
    private readonly Field[] _fields;
    private readonly int[] _fieldByNumber;
    private readonly long _unitToMicros;
    private readonly bool[] _seen;
    private readonly ProtobufScalar[] _scalars;
    private int[] _columns = [];
    private char[] _chars = new char[256];

    public ProtobufRowDecoder(IReadOnlyList<Field> fields, IReadOnlyDictionary<string, int> numbers, TimestampUnit unit,
        IReadOnlyDictionary<string, ProtobufScalar>? types = null)
    {
        _fields = [.. fields];
        _scalars = Scalars(_fields, types);
        var max = 0;
        var assigned = new int[_fields.Length];
        for (var i = 0; i < _fields.Length; i++)
        {
            assigned[i] = numbers.TryGetValue(_fields[i].Name, out var n) ? n : i + 1;
            if (assigned[i] is < 1 or > 65535)
                throw new ConnectorConfigurationException($"protobuf field number {assigned[i]} of column '{_fields[i].Name}' must be between 1 and 65535");
            max = Math.Max(max, assigned[i]);
        }
        _fieldByNumber = new int[max + 1];
        Array.Fill(_fieldByNumber, -1);
        for (var i = 0; i < _fields.Length; i++)
        {
            if (_fieldByNumber[assigned[i]] >= 0)
                throw new ConnectorConfigurationException($"protobuf field number {assigned[i]} is mapped to two columns");
            _fieldByNumber[assigned[i]] = i;
        }
        FieldNumbers = assigned;
        _seen = new bool[_fields.Length];
        _unitToMicros = JsonRowDecoder.UnitToMicros(unit);
    }

    /// <summary>The declared (or default) scalar type of each field, in field order; meaningful for integer and timestamp
    /// columns. Shared with the encoder so that what the sink writes the source reads back.</summary>
    public static ProtobufScalar[] Scalars(IReadOnlyList<Field> fields, IReadOnlyDictionary<string, ProtobufScalar>? types)
    {
        var scalars = new ProtobufScalar[fields.Count];
        for (var i = 0; i < scalars.Length; i++)
            scalars[i] = fields[i].Type == ColumnType.Int32 ? ProtobufScalar.Int32 : ProtobufScalar.Int64;
        if (types is null) return scalars;
        foreach (var (name, scalar) in types)
        {
            var index = -1;
            for (var i = 0; i < fields.Count; i++)
                if (fields[i].Name == name) index = i;
            if (index < 0)
                throw new ConnectorConfigurationException(
                    $"protobuf type is given for column '{name}', which is not in the payload columns ({string.Join(", ", fields.Select(f => f.Name))})");
            if (fields[index].Type is not (ColumnType.Int32 or ColumnType.Int64 or ColumnType.Timestamp))
                throw new ConnectorConfigurationException(
                    $"protobuf type {ScalarName(scalar)} is given for column '{name}', which is {ColumnTypes.Name(fields[index].Type)}; " +
                    "protobuf types apply to int32, int64 and timestamp columns only");
            if (!Enum.IsDefined(scalar))
                throw new ConnectorConfigurationException($"protobuf type {(int)scalar} of column '{name}' is not a protobuf integer type");
            scalars[index] = scalar;
        }
        return scalars;
    }

    /// <summary>The name of <paramref name="scalar"/> as written in a .proto file.</summary>
    public static string ScalarName(ProtobufScalar scalar) => scalar.ToString().ToLowerInvariant();

    /// <summary>The field number of each field, in field order.</summary>
    public int[] FieldNumbers { get; }

    public void Bind(Schema batchSchema)
    {
        _columns = new int[_fields.Length];
        for (var i = 0; i < _fields.Length; i++) _columns[i] = batchSchema.Require(_fields[i].Name, _fields[i].Type);
    }

    public bool TryDecode(ReadOnlySpan<byte> message, ColumnBatch batch, int row, out string? error)
    {
        Array.Clear(_seen);
        error = null;
        var position = 0;
        while (position < message.Length)
        {
            if (!TryReadVarint(message, ref position, out var tag) || tag >> 3 == 0)
            {
                error = $"invalid protobuf tag at byte {position}";
                return false;
            }
            var number = (int)Math.Min(tag >> 3, int.MaxValue);
            var wireType = (int)(tag & 7);
            var field = number < _fieldByNumber.Length ? _fieldByNumber[number] : -1;
            if (field < 0)
            {
                if (!Skip(message, ref position, wireType))
                {
                    error = $"truncated protobuf field {number} at byte {position}";
                    return false;
                }
                continue;
            }
            _seen[field] = true;
            if (!ReadField(message, ref position, wireType, batch, row, field, ref error)) return false;
        }
        for (var i = 0; i < _fields.Length; i++)
        {
            if (_seen[i]) continue;
            var column = batch[_columns[i]];
            if (_fields[i].Nullable) column.SetNull(row);
            else
            {
                // proto3 omits zero values: an absent non-nullable field is the type's default.
                column.SetValid(row);
                WriteDefault(column, row);
            }
        }
        return true;
    }

    private static void WriteDefault(Column column, int row)
    {
        switch (column.Type)
        {
            case ColumnType.Float32: column.Values<float>()[row] = 0; break;
            case ColumnType.Float64: column.Values<double>()[row] = 0; break;
            case ColumnType.Int32: column.Values<int>()[row] = 0; break;
            case ColumnType.Int64 or ColumnType.Timestamp: column.Values<long>()[row] = 0; break;
            case ColumnType.Bool: column.Values<byte>()[row] = 0; break;
            case ColumnType.String: column.Values<int>()[row] = column.Dictionary!.GetOrAdd(""); break;
        }
    }

    private bool ReadField(ReadOnlySpan<byte> message, ref int position, int wireType, ColumnBatch batch, int row, int field, ref string? error)
    {
        var column = batch[_columns[field]];
        column.SetValid(row);
        var name = _fields[field].Name;
        switch (column.Type, wireType)
        {
            case (ColumnType.Float32, 5) when position + 4 <= message.Length:
                column.Values<float>()[row] = BinaryPrimitives.ReadSingleLittleEndian(message[position..]);
                position += 4;
                return true;
            case (ColumnType.Float64, 1) when position + 8 <= message.Length:
                column.Values<double>()[row] = BinaryPrimitives.ReadDoubleLittleEndian(message[position..]);
                position += 8;
                return true;
            case (ColumnType.Float32, 1) when position + 8 <= message.Length:
                column.Values<float>()[row] = (float)BinaryPrimitives.ReadDoubleLittleEndian(message[position..]);
                position += 8;
                return true;
            case (ColumnType.Float64, 5) when position + 4 <= message.Length:
                column.Values<double>()[row] = BinaryPrimitives.ReadSingleLittleEndian(message[position..]);
                position += 4;
                return true;
            case (ColumnType.Bool, 0) when TryReadVarint(message, ref position, out var vb):
                column.Values<byte>()[row] = vb != 0 ? (byte)1 : (byte)0;
                return true;
            case (ColumnType.Timestamp, 2) when TryReadLength(message, ref position, out var nested):
                return ReadTimestampMessage(nested, out column.Values<long>()[row], name, ref error);
            case (ColumnType.Int32 or ColumnType.Int64 or ColumnType.Timestamp, _):
                return ReadInteger(message, ref position, wireType, column, row, field, ref error);
            case (ColumnType.String, 2) when TryReadLength(message, ref position, out var utf8):
                {
                    if (utf8.Length > _chars.Length) _chars = new char[utf8.Length * 2];
                    var n = Encoding.UTF8.GetChars(utf8, _chars);
                    column.Values<int>()[row] = column.Dictionary!.GetOrAdd(_chars.AsSpan(0, n));
                    return true;
                }
            default:
                error = $"protobuf field of column '{name}' has wire type {wireType}, which does not fit a {ColumnTypes.Name(column.Type)} (or the message is truncated)";
                return false;
        }
    }

    private bool ReadInteger(ReadOnlySpan<byte> message, ref int position, int wireType, Column column, int row, int field, ref string? error)
    {
        var scalar = _scalars[field];
        var name = _fields[field].Name;
        var expected = scalar switch
        {
            ProtobufScalar.Fixed32 or ProtobufScalar.SFixed32 => 5,
            ProtobufScalar.Fixed64 or ProtobufScalar.SFixed64 => 1,
            _ => 0,
        };
        long value;
        bool fits;
        switch (expected)
        {
            case 5 when wireType == 5 && position + 4 <= message.Length:
                {
                    var bits = BinaryPrimitives.ReadUInt32LittleEndian(message[position..]);
                    position += 4;
                    value = scalar == ProtobufScalar.SFixed32 ? (int)bits : bits;
                    fits = true;
                    break;
                }
            case 1 when wireType == 1 && position + 8 <= message.Length:
                {
                    var bits = BinaryPrimitives.ReadUInt64LittleEndian(message[position..]);
                    position += 8;
                    value = (long)bits;
                    fits = scalar == ProtobufScalar.SFixed64 || bits <= long.MaxValue;
                    break;
                }
            case 0 when wireType == 0 && TryReadVarint(message, ref position, out var raw):
                switch (scalar)
                {
                    case ProtobufScalar.SInt32 or ProtobufScalar.SInt64:
                        value = (long)(raw >> 1) ^ -(long)(raw & 1);
                        fits = true;
                        break;
                    case ProtobufScalar.UInt32 or ProtobufScalar.UInt64:
                        value = (long)raw;
                        fits = raw <= long.MaxValue;
                        break;
                    default:
                        value = (long)raw;
                        fits = true;
                        break;
                }
                break;
            default:
                error = $"protobuf field of column '{name}' has wire type {wireType}, which does not fit a {ScalarName(scalar)} field " +
                    $"(wire type {expected}; declare the field's type in ProtobufTypes) or the message is truncated";
                return false;
        }
        switch (column.Type)
        {
            case ColumnType.Int32 when fits && value is >= int.MinValue and <= int.MaxValue:
                column.Values<int>()[row] = (int)value;
                return true;
            case ColumnType.Int64 when fits:
                column.Values<long>()[row] = value;
                return true;
            case ColumnType.Timestamp when fits && value <= long.MaxValue / _unitToMicros && value >= long.MinValue / _unitToMicros:
                column.Values<long>()[row] = value * _unitToMicros;
                return true;
        }
        var shown = fits ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : ((ulong)value).ToString(System.Globalization.CultureInfo.InvariantCulture);
        error = $"protobuf {ScalarName(scalar)} value {shown} of column '{name}' does not fit a {ColumnTypes.Name(column.Type)} column";
        return false;
    }

    // google.protobuf.Timestamp: field 1 seconds (int64), field 2 nanos (int32).
    private static bool ReadTimestampMessage(ReadOnlySpan<byte> nested, out long micros, string name, ref string? error)
    {
        long seconds = 0, nanos = 0;
        var position = 0;
        while (position < nested.Length)
        {
            if (!TryReadVarint(nested, ref position, out var tag)) break;
            if ((tag & 7) != 0 || !TryReadVarint(nested, ref position, out var value))
            {
                error = $"column '{name}': nested timestamp is not a google.protobuf.Timestamp";
                micros = 0;
                return false;
            }
            if (tag >> 3 == 1) seconds = (long)value;
            else if (tag >> 3 == 2) nanos = (long)value;
        }
        micros = seconds * 1_000_000 + nanos / 1_000;
        return true;
    }

    private static bool TryReadLength(ReadOnlySpan<byte> message, ref int position, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TryReadVarint(message, ref position, out var length) || length > (ulong)(message.Length - position)) return false;
        value = message.Slice(position, (int)length);
        position += (int)length;
        return true;
    }

    private static bool Skip(ReadOnlySpan<byte> message, ref int position, int wireType)
    {
        switch (wireType)
        {
            case 0: return TryReadVarint(message, ref position, out _);
            case 1: position += 8; return position <= message.Length;
            case 5: position += 4; return position <= message.Length;
            case 2: return TryReadLength(message, ref position, out _);
            default: return false;
        }
    }

    public static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }
}
