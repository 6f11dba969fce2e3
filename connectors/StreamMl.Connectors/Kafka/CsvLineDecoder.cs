using System.Globalization;
using System.Text;
using StreamMl.Engine;

namespace StreamMl.Connectors.Internal;

/// <summary>Decodes one CSV line (RFC 4180 quoting, no embedded line breaks) into one row. Empty fields are nulls.
/// Numbers are parsed straight from the UTF-8 bytes; only string fields are transcoded.</summary>
internal sealed class CsvLineDecoder
{
    private readonly Field[] _fields;
    private readonly byte _delimiter;
    private readonly long _unitToMicros;
    private int[] _columns = [];
    private byte[] _unquoted = new byte[256];
    private char[] _chars = new char[256];

    public CsvLineDecoder(IReadOnlyList<Field> fields, char delimiter, TimestampUnit unit)
    {
        _fields = [.. fields];
        if (delimiter > 127) throw new ConnectorConfigurationException($"CSV delimiter '{delimiter}' must be an ASCII character");
        _delimiter = (byte)delimiter;
        _unitToMicros = JsonRowDecoder.UnitToMicros(unit);
    }

    public void Bind(Schema batchSchema)
    {
        _columns = new int[_fields.Length];
        for (var i = 0; i < _fields.Length; i++) _columns[i] = batchSchema.Require(_fields[i].Name, _fields[i].Type);
    }

    public bool TryDecode(ReadOnlySpan<byte> line, ColumnBatch batch, int row, out string? error)
    {
        error = null;
        while (line.Length > 0 && line[^1] is (byte)'\n' or (byte)'\r') line = line[..^1];
        var position = 0;
        for (var i = 0; i < _fields.Length; i++)
        {
            if (position > line.Length)
            {
                error = $"the line has {i} fields, expected {_fields.Length} ({string.Join(", ", _fields.Select(f => f.Name))})";
                return false;
            }
            ReadOnlySpan<byte> value;
            if (position < line.Length && line[position] == (byte)'"')
            {
                if (!Unquote(line, ref position, out var quotedLength))
                {
                    error = $"field '{_fields[i].Name}' has an unclosed quote";
                    return false;
                }
                value = _unquoted.AsSpan(0, quotedLength);
            }
            else
            {
                var end = line[position..].IndexOf(_delimiter);
                var length = end < 0 ? line.Length - position : end;
                value = line.Slice(position, length);
                position += length;
            }
            position++; // past the delimiter
            if (!Write(value, batch, row, i, ref error)) return false;
        }
        if (position <= line.Length)
        {
            error = $"the line has more than {_fields.Length} fields";
            return false;
        }
        return true;
    }

    private bool Unquote(ReadOnlySpan<byte> line, ref int position, out int length)
    {
        length = 0;
        var i = position + 1;
        while (i < line.Length)
        {
            if (line[i] == (byte)'"')
            {
                if (i + 1 < line.Length && line[i + 1] == (byte)'"')
                {
                    Append(ref length, (byte)'"');
                    i += 2;
                    continue;
                }
                position = i + 1;
                return true;
            }
            Append(ref length, line[i]);
            i++;
        }
        return false;
    }

    private void Append(ref int length, byte b)
    {
        if (length == _unquoted.Length) Array.Resize(ref _unquoted, length * 2);
        _unquoted[length++] = b;
    }

    private bool Write(ReadOnlySpan<byte> value, ColumnBatch batch, int row, int field, ref string? error)
    {
        var column = batch[_columns[field]];
        if (value.IsEmpty && column.Type != ColumnType.String || value.IsEmpty && _fields[field].Nullable)
        {
            if (!_fields[field].Nullable)
            {
                error = $"required field '{_fields[field].Name}' is empty";
                return false;
            }
            column.SetNull(row);
            return true;
        }
        column.SetValid(row);
        var ok = column.Type switch
        {
            ColumnType.Float32 => float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out column.Values<float>()[row]),
            ColumnType.Float64 => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out column.Values<double>()[row]),
            ColumnType.Int32 => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out column.Values<int>()[row]),
            ColumnType.Int64 => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out column.Values<long>()[row]),
            ColumnType.Bool => ParseBool(value, out column.Values<byte>()[row]),
            ColumnType.Timestamp => ParseTimestamp(value, out column.Values<long>()[row]),
            ColumnType.String => WriteString(value, column, row),
            _ => false,
        };
        if (!ok) error = $"field '{_fields[field].Name}' = \"{Encoding.UTF8.GetString(value)}\" is not a {ColumnTypes.Name(column.Type)}";
        return ok;
    }

    private static bool ParseBool(ReadOnlySpan<byte> value, out byte result)
    {
        result = 0;
        if (value.SequenceEqual("1"u8) || value.SequenceEqual("true"u8) || value.SequenceEqual("True"u8) || value.SequenceEqual("TRUE"u8))
        {
            result = 1;
            return true;
        }
        return value.SequenceEqual("0"u8) || value.SequenceEqual("false"u8) || value.SequenceEqual("False"u8) || value.SequenceEqual("FALSE"u8);
    }

    private bool ParseTimestamp(ReadOnlySpan<byte> value, out long micros)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole))
        {
            micros = whole * _unitToMicros;
            return true;
        }
        return JsonRowDecoder.TryParseTimestamp(Chars(value), out micros);
    }

    private ReadOnlySpan<char> Chars(ReadOnlySpan<byte> value)
    {
        if (value.Length > _chars.Length) _chars = new char[value.Length * 2];
        var n = Encoding.UTF8.GetChars(value, _chars);
        return _chars.AsSpan(0, n);
    }

    private bool WriteString(ReadOnlySpan<byte> value, Column column, int row)
    {
        column.Values<int>()[row] = column.Dictionary!.GetOrAdd(Chars(value));
        return true;
    }
}
