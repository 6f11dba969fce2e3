using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow.Ipc;
using StreamMl.Engine;

namespace StreamMl.Connectors.Internal;

/// <summary>Encodes batch rows as message payloads (the inverse of <see cref="MessageDecoder"/>): one JSON object, CSV
/// line or protobuf message per row, or one Arrow IPC stream per batch. Buffers are reused between rows.</summary>
internal sealed class MessageEncoder
{
    private readonly MessageFormat _format;
    private readonly MessageCodecOptions _options;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;
    private readonly long _unitToMicros;
    private Field[] _fields = [];
    private int[] _columns = [];
    private int[] _numbers = [];
    private ProtobufScalar[] _scalars = [];
    private byte[][] _jsonNames = [];
    private byte[] _utf8 = new byte[256];

    public MessageEncoder(MessageCodecOptions options)
    {
        _format = options.Format;
        _options = options;
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
        _unitToMicros = JsonRowDecoder.UnitToMicros(options.TimestampUnit);
    }

    /// <summary>Picks the columns to write: <paramref name="columns"/> or every column of the schema.</summary>
    public void Bind(Schema schema, IReadOnlyList<string>? columns)
    {
        var names = columns ?? (_format == MessageFormat.Csv ? _options.CsvColumns : null) ?? schema.Select(f => f.Name).ToList();
        _columns = names.Select(n => schema.Require(n)).ToArray();
        _fields = _columns.Select(i => schema[i]).ToArray();
        _jsonNames = _fields.Select(f => Encoding.UTF8.GetBytes(f.Name)).ToArray();
        _numbers = _fields.Select((f, i) => _options.ProtobufFields.TryGetValue(f.Name, out var n) ? n : i + 1).ToArray();
        if (_format == MessageFormat.Protobuf) _scalars = ProtobufRowDecoder.Scalars(_fields, _options.ProtobufTypes);
    }

    /// <summary>Encodes row <paramref name="row"/>; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> EncodeRow(ColumnBatch batch, int row)
    {
        _buffer.ResetWrittenCount();
        switch (_format)
        {
            case MessageFormat.Json: WriteJson(batch, row); break;
            case MessageFormat.Csv: WriteCsv(batch, row); break;
            case MessageFormat.Protobuf: WriteProtobuf(batch, row); break;
            default: throw new InvalidOperationException("Arrow IPC payloads are written per batch; use EncodeBatch");
        }
        return _buffer.WrittenSpan;
    }

    /// <summary>Encodes the selected rows of a batch as one Arrow IPC stream.</summary>
    public byte[] EncodeBatch(ColumnBatch batch, ColumnBatch? scratch)
    {
        var source = batch;
        if (!batch.Selection.AllSelected)
        {
            scratch!.Reset();
            for (var row = 0; row < batch.Length; row++)
                if (batch.Selection.IsSelected(row)) scratch.AppendRow(batch, row);
            source = scratch;
        }
        using var recordBatch = source.ToRecordBatch();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, recordBatch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(recordBatch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    private void WriteJson(ColumnBatch batch, int row)
    {
        _json.Reset(_buffer);
        _json.WriteStartObject();
        for (var i = 0; i < _columns.Length; i++)
        {
            var column = batch[_columns[i]];
            var name = _jsonNames[i];
            if (!column.IsValid(row))
            {
                _json.WriteNull(name);
                continue;
            }
            switch (column.Type)
            {
                case ColumnType.Float32:
                    var f = column.Values<float>()[row];
                    if (float.IsFinite(f)) _json.WriteNumber(name, f); else _json.WriteNull(name);
                    break;
                case ColumnType.Float64:
                    var d = column.Values<double>()[row];
                    if (double.IsFinite(d)) _json.WriteNumber(name, d); else _json.WriteNull(name);
                    break;
                case ColumnType.Int32: _json.WriteNumber(name, column.Values<int>()[row]); break;
                case ColumnType.Int64: _json.WriteNumber(name, column.Values<long>()[row]); break;
                case ColumnType.Bool: _json.WriteBoolean(name, column.Values<byte>()[row] != 0); break;
                case ColumnType.Timestamp:
                    _json.WriteString(name, DateTime.UnixEpoch.AddTicks(column.Values<long>()[row] * 10));
                    break;
                case ColumnType.String: _json.WriteString(name, column.Dictionary![column.Values<int>()[row]]); break;
            }
        }
        _json.WriteEndObject();
        _json.Flush();
    }

    private void WriteCsv(ColumnBatch batch, int row)
    {
        for (var i = 0; i < _columns.Length; i++)
        {
            if (i > 0) Write((byte)_options.CsvDelimiter);
            var column = batch[_columns[i]];
            if (!column.IsValid(row)) continue;
            var span = _buffer.GetSpan(64);
            int written;
            switch (column.Type)
            {
                case ColumnType.Float32: column.Values<float>()[row].TryFormat(span, out written, "R", CultureInfo.InvariantCulture); break;
                case ColumnType.Float64: column.Values<double>()[row].TryFormat(span, out written, "R", CultureInfo.InvariantCulture); break;
                case ColumnType.Int32: column.Values<int>()[row].TryFormat(span, out written, default, CultureInfo.InvariantCulture); break;
                case ColumnType.Int64: column.Values<long>()[row].TryFormat(span, out written, default, CultureInfo.InvariantCulture); break;
                case ColumnType.Bool: written = column.Values<byte>()[row] != 0 ? Copy("true"u8, span) : Copy("false"u8, span); break;
                case ColumnType.Timestamp:
                    DateTime.UnixEpoch.AddTicks(column.Values<long>()[row] * 10).TryFormat(span, out written, "O", CultureInfo.InvariantCulture);
                    break;
                default:
                    WriteCsvText(column.Dictionary![column.Values<int>()[row]]);
                    continue;
            }
            _buffer.Advance(written);
        }
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> to)
    {
        text.CopyTo(to);
        return text.Length;
    }

    private void WriteCsvText(string text)
    {
        var quote = text.AsSpan().IndexOfAny('"', _options.CsvDelimiter, '\n') >= 0 || text.Contains('\r');
        if (!quote)
        {
            var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
            _buffer.Advance(Encoding.UTF8.GetBytes(text, span));
            return;
        }
        // Rare: allocating the escaped copy is fine here.
        var escaped = string.Concat("\"", text.Replace("\"", "\"\"", StringComparison.Ordinal), "\"");
        var quoted = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(escaped.Length));
        _buffer.Advance(Encoding.UTF8.GetBytes(escaped, quoted));
    }

    private void Write(byte b)
    {
        _buffer.GetSpan(1)[0] = b;
        _buffer.Advance(1);
    }

    private void WriteProtobuf(ColumnBatch batch, int row)
    {
        for (var i = 0; i < _columns.Length; i++)
        {
            var column = batch[_columns[i]];
            if (!column.IsValid(row)) continue; // absent on the wire = null
            var number = (ulong)_numbers[i];
            switch (column.Type)
            {
                case ColumnType.Float32:
                    WriteVarint(number << 3 | 5);
                    BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), column.Values<float>()[row]);
                    _buffer.Advance(4);
                    break;
                case ColumnType.Float64:
                    WriteVarint(number << 3 | 1);
                    BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), column.Values<double>()[row]);
                    _buffer.Advance(8);
                    break;
                case ColumnType.Int32:
                    WriteInteger(number, _scalars[i], column.Values<int>()[row]);
                    break;
                case ColumnType.Int64:
                    WriteInteger(number, _scalars[i], column.Values<long>()[row]);
                    break;
                case ColumnType.Bool:
                    WriteVarint(number << 3);
                    WriteVarint(column.Values<byte>()[row] != 0 ? 1UL : 0UL);
                    break;
                case ColumnType.Timestamp:
                    WriteInteger(number, _scalars[i], column.Values<long>()[row] / _unitToMicros);
                    break;
                case ColumnType.String:
                    var text = column.Dictionary![column.Values<int>()[row]];
                    if (_utf8.Length < Encoding.UTF8.GetMaxByteCount(text.Length)) _utf8 = new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
                    var n = Encoding.UTF8.GetBytes(text, _utf8);
                    WriteVarint(number << 3 | 2);
                    WriteVarint((ulong)n);
                    _buffer.Write(_utf8.AsSpan(0, n));
                    break;
            }
        }
    }

    /// <summary>Writes an integer field as its declared protobuf type (what <see cref="ProtobufRowDecoder"/> reads back).</summary>
    private void WriteInteger(ulong number, ProtobufScalar scalar, long value)
    {
        switch (scalar)
        {
            case ProtobufScalar.Fixed32 or ProtobufScalar.SFixed32:
                WriteVarint(number << 3 | 5);
                BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), unchecked((uint)value));
                _buffer.Advance(4);
                break;
            case ProtobufScalar.Fixed64 or ProtobufScalar.SFixed64:
                WriteVarint(number << 3 | 1);
                BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), unchecked((ulong)value));
                _buffer.Advance(8);
                break;
            case ProtobufScalar.SInt32 or ProtobufScalar.SInt64:
                WriteVarint(number << 3);
                WriteVarint(unchecked((ulong)((value << 1) ^ (value >> 63))));
                break;
            default:
                WriteVarint(number << 3);
                WriteVarint(unchecked((ulong)value));
                break;
        }
    }

    private void WriteVarint(ulong value)
    {
        var span = _buffer.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        _buffer.Advance(i);
    }
}
