namespace StreamMl.Connectors;

/// <summary>How a message payload (Kafka value, MQTT payload) encodes rows. Kafka supports all four, MQTT and HTTP JSON.</summary>
public enum MessageFormat
{
    /// <summary>One JSON object per message; properties (or dotted paths such as <c>reading.temp</c>) map to columns.</summary>
    Json,
    /// <summary>One CSV line per message, fields in the order of <see cref="MessageCodecOptions.CsvColumns"/>.</summary>
    Csv,
    /// <summary>An Arrow IPC stream per message, any number of rows; columns are matched by name.</summary>
    ArrowIpc,
    /// <summary>One protobuf message per record; field numbers map to columns (<see cref="MessageCodecOptions.ProtobufFields"/>).</summary>
    Protobuf,
}

/// <summary>What a numeric timestamp in a payload counts since the Unix epoch.</summary>
public enum TimestampUnit
{
    /// <summary>Seconds.</summary>
    Seconds,
    /// <summary>Milliseconds (the default: what most devices and JavaScript send).</summary>
    Milliseconds,
    /// <summary>Microseconds (StreamMl's own unit).</summary>
    Microseconds,
}

/// <summary>How payloads map to columns. Shared by the Kafka source and sink, the MQTT source and the HTTP source.</summary>
public sealed class MessageCodecOptions
{
    /// <summary>Payload format. Default <see cref="MessageFormat.Json"/>.</summary>
    public MessageFormat Format { get; set; } = MessageFormat.Json;

    /// <summary>JSON: column name to a path inside the record, dotted (<c>reading.temp</c>, optionally written
    /// <c>$.reading.temp</c>). Columns not listed are read from the top-level property of the same name.</summary>
    public Dictionary<string, string> JsonPaths { get; set; } = new(StringComparer.Ordinal);

    /// <summary>CSV: the columns in field order. Default: the source schema's payload columns in order.</summary>
    public IReadOnlyList<string>? CsvColumns { get; set; }

    /// <summary>CSV field delimiter. Default ','.</summary>
    public char CsvDelimiter { get; set; } = ',';

    /// <summary>Protobuf: column name to field number. Default: the payload columns numbered 1, 2, 3, ... in schema order.
    /// Float32 columns read fixed32 (<c>float</c>), Float64 fixed64 (<c>double</c>), Int32/Int64/Bool varints, String
    /// length-delimited UTF-8, Timestamp either a varint in <see cref="TimestampUnit"/> or a nested
    /// <c>google.protobuf.Timestamp</c>.</summary>
    public Dictionary<string, int> ProtobufFields { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Protobuf: column name to the field's scalar type, for int32, int64 and numeric timestamp columns whose
    /// field is not a plain <c>int32</c>/<c>int64</c> (<c>sint32</c>, <c>sint64</c>, <c>uint*</c>, <c>fixed*</c>,
    /// <c>sfixed*</c>). The wire format cannot tell a zigzag <c>sint64</c> from an <c>int64</c>: without this entry a
    /// <c>sint64</c> field reads wrong values. Default: empty (int32 columns read <c>int32</c>, others <c>int64</c>).</summary>
    public Dictionary<string, ProtobufScalar> ProtobufTypes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Unit of numeric timestamps in payloads. Default milliseconds. Text timestamps are ISO 8601.</summary>
    public TimestampUnit TimestampUnit { get; set; } = TimestampUnit.Milliseconds;
}
