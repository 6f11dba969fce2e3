using Apache.Arrow;
using Apache.Arrow.Ipc;
using StreamMl.Engine;
using Column = StreamMl.Engine.Column;
using Field = StreamMl.Engine.Field;
using Schema = StreamMl.Engine.Schema;

namespace StreamMl.Connectors.Internal;

/// <summary>Decodes message payloads into batch rows in one of the <see cref="MessageFormat"/>s. JSON, CSV and protobuf
/// payloads hold one row each and are decoded in place from the client library's buffer; an Arrow IPC payload holds any
/// number of rows and is read through <see cref="OpenArrow"/>.</summary>
internal sealed class MessageDecoder
{
    private readonly JsonRowDecoder? _json;
    private readonly CsvLineDecoder? _csv;
    private readonly ProtobufRowDecoder? _protobuf;
    private readonly Field[] _fields;
    private int[] _columns = [];

    public MessageDecoder(IReadOnlyList<Field> payloadFields, MessageCodecOptions options)
    {
        Format = options.Format;
        _fields = [.. payloadFields];
        switch (options.Format)
        {
            case MessageFormat.Json:
                _json = new JsonRowDecoder(payloadFields, options.JsonPaths, options.TimestampUnit);
                break;
            case MessageFormat.Csv:
                var order = options.CsvColumns ?? payloadFields.Select(f => f.Name).ToList();
                var byName = payloadFields.ToDictionary(f => f.Name);
                var ordered = order.Select(name => byName.TryGetValue(name, out var f) ? f
                    : throw new ConnectorConfigurationException($"CSV column '{name}' is not in the source schema ({string.Join(", ", byName.Keys)})")).ToList();
                _csv = new CsvLineDecoder(ordered, options.CsvDelimiter, options.TimestampUnit);
                break;
            case MessageFormat.Protobuf:
                _protobuf = new ProtobufRowDecoder(payloadFields, options.ProtobufFields, options.TimestampUnit, options.ProtobufTypes);
                break;
        }
    }

    public MessageFormat Format { get; }

    /// <summary>True for formats whose one payload may hold many rows.</summary>
    public bool IsMultiRow => Format == MessageFormat.ArrowIpc;

    public void Bind(Schema batchSchema)
    {
        _json?.Bind(batchSchema);
        _csv?.Bind(batchSchema);
        _protobuf?.Bind(batchSchema);
        _columns = new int[_fields.Length];
        for (var i = 0; i < _fields.Length; i++) _columns[i] = batchSchema.Require(_fields[i].Name, _fields[i].Type);
    }

    public bool TryDecodeRow(ReadOnlySpan<byte> payload, ColumnBatch batch, int row, out string? error) => Format switch
    {
        MessageFormat.Json => _json!.TryDecode(payload, batch, row, out error),
        MessageFormat.Csv => _csv!.TryDecode(payload, batch, row, out error),
        MessageFormat.Protobuf => _protobuf!.TryDecode(payload, batch, row, out error),
        _ => throw new InvalidOperationException("Arrow IPC payloads hold many rows; use OpenArrow"),
    };

    /// <summary>Reads every record batch of an Arrow IPC stream payload; null and an error when it is not one or lacks a column.</summary>
    public ArrowPayload? OpenArrow(byte[] payload, out string? error)
    {
        error = null;
        try
        {
            ArrowIpcGuard.CheckSchema(payload); // a deeply nested schema would overflow the reader's recursion
            using var reader = new ArrowStreamReader(new MemoryStream(payload, writable: false));
            var batches = new List<RecordBatch>();
            while (reader.ReadNextRecordBatch() is { } recordBatch) batches.Add(recordBatch);
            foreach (var recordBatch in batches)
            {
                foreach (var field in _fields)
                {
                    if (recordBatch.Schema.GetFieldIndex(field.Name) >= 0) continue;
                    error = $"the Arrow payload has no column '{field.Name}'; it has {string.Join(", ", recordBatch.Schema.FieldsList.Select(f => f.Name))}";
                    foreach (var b in batches) b.Dispose();
                    return null;
                }
            }
            return new ArrowPayload(batches);
        }
        catch (SchemaMismatchException ex)
        {
            error = ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or IOException or InvalidOperationException or OverflowException or IndexOutOfRangeException)
        {
            error = $"the payload is not an Arrow IPC stream: {ex.Message}";
            return null;
        }
    }

    /// <summary>Copies up to <paramref name="max"/> rows of <paramref name="payload"/> into the batch from row
    /// <paramref name="row"/>; returns how many. A type mismatch throws a <see cref="SchemaMismatchException"/>.</summary>
    public int CopyArrowRows(ArrowPayload payload, ColumnBatch batch, int row, int max)
    {
        var copied = 0;
        while (copied < max && payload.Batch < payload.Batches.Count)
        {
            var source = payload.Batches[payload.Batch];
            var take = Math.Min(max - copied, source.Length - payload.Row);
            for (var f = 0; f < _fields.Length; f++)
                batch[_columns[f]].CopyFrom(source.Column(source.Schema.GetFieldIndex(_fields[f].Name)), payload.Row, row + copied, take);
            copied += take;
            payload.Row += take;
            if (payload.Row == source.Length)
            {
                payload.Batch++;
                payload.Row = 0;
            }
        }
        return copied;
    }
}

/// <summary>The record batches of one Arrow IPC payload and how far they have been copied.</summary>
internal sealed class ArrowPayload(List<RecordBatch> batches) : IDisposable
{
    public List<RecordBatch> Batches { get; } = batches;
    public int Batch { get; set; }
    public int Row { get; set; }
    public bool Done => Batch >= Batches.Count;

    public void Dispose()
    {
        foreach (var batch in Batches) batch.Dispose();
    }
}
