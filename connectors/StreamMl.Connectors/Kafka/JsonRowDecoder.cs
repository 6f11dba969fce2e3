using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Connectors.Internal;

/// <summary>Decodes one JSON object into one row of a batch with <see cref="Utf8JsonReader"/>: it walks the object once,
/// keeps the dotted path of the current property in a char buffer, and looks the path up without allocating. Nested
/// objects are followed; arrays inside a record are skipped. Missing properties become nulls.</summary>
internal sealed class JsonRowDecoder
{
    private readonly Field[] _fields;
    private readonly Dictionary<string, int> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly long _unitToMicros;
    private readonly bool[] _seen;
    // UTF-8 name of each field whose path is a top-level property (null for nested paths), and, by position in the
    // object, the field the previous message had there: producers write their properties in a fixed order, so the
    // name is usually confirmed by one byte comparison instead of a transcode and a hash lookup.
    private readonly byte[]?[] _topLevelNames;
    private int[] _predicted = new int[16];
    private int[] _columns = [];
    private char[] _path = new char[256];
    private char[] _text = new char[256];
    private const int MaxDepth = 64;

    public JsonRowDecoder(IReadOnlyList<Field> fields, IReadOnlyDictionary<string, string> paths, TimestampUnit unit)
    {
        _fields = [.. fields];
        for (var i = 0; i < _fields.Length; i++)
        {
            var path = paths.TryGetValue(_fields[i].Name, out var p) ? NormalizePath(p) : _fields[i].Name;
            if (!_byPath.TryAdd(path, i))
                throw new ConnectorConfigurationException($"JSON path '{path}' is mapped to two columns; map each path once");
        }
        _lookup = _byPath.GetAlternateLookup<ReadOnlySpan<char>>();
        _topLevelNames = new byte[]?[_fields.Length];
        foreach (var (path, field) in _byPath)
            if (!path.Contains('.')) _topLevelNames[field] = Encoding.UTF8.GetBytes(path);
        Array.Fill(_predicted, -1);
        _seen = new bool[_fields.Length];
        _unitToMicros = UnitToMicros(unit);
    }

    /// <summary>The fields this decoder fills.</summary>
    public IReadOnlyList<Field> Fields => _fields;

    public static long UnitToMicros(TimestampUnit unit) => unit switch
    {
        TimestampUnit.Seconds => 1_000_000,
        TimestampUnit.Milliseconds => 1_000,
        _ => 1,
    };

    /// <summary>Accepts <c>$.a.b</c>, <c>$['a'].b</c>-free dotted paths and plain names.</summary>
    public static string NormalizePath(string path)
    {
        var p = path.Trim();
        if (p.StartsWith("$.", StringComparison.Ordinal)) p = p[2..];
        else if (p == "$") p = "";
        return p;
    }

    /// <summary>Finds the batch column of every field; call once per batch schema.</summary>
    public void Bind(Schema batchSchema)
    {
        _columns = new int[_fields.Length];
        for (var i = 0; i < _fields.Length; i++) _columns[i] = batchSchema.Require(_fields[i].Name, _fields[i].Type);
    }

    /// <summary>Fills row <paramref name="row"/>; returns false and an error naming the field when the payload is not a
    /// JSON object or a value does not fit its column. A failed row's cells are left half-written: the caller does not
    /// count the row.</summary>
    public bool TryDecode(ReadOnlySpan<byte> json, ColumnBatch batch, int row, out string? error)
    {
        Array.Clear(_seen);
        error = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "the payload is not a JSON object";
                return false;
            }
            if (!ReadObject(ref reader, batch, row, 0, 0, ref error)) return false;
        }
        catch (JsonException ex)
        {
            error = $"malformed JSON at byte {ex.BytePositionInLine}: {FirstLine(ex.Message)}";
            return false;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is DecoderFallbackException)
        {
            // Utf8JsonReader checks structure, not text: a name or string that is not UTF-8 fails when transcoded.
            error = "a property name or string is not valid UTF-8 text";
            return false;
        }
        for (var i = 0; i < _fields.Length; i++)
        {
            if (_seen[i]) continue;
            if (!_fields[i].Nullable)
            {
                error = $"required field '{_fields[i].Name}' is missing";
                return false;
            }
            batch[_columns[i]].SetNull(row);
        }
        return true;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('.');
        return end > 0 ? message[..end] : message;
    }

    // The reader stands on a StartObject; prefixLength chars of _path hold "parent." for nested objects.
    private bool ReadObject(ref Utf8JsonReader reader, ColumnBatch batch, int row, int prefixLength, int depth, ref string? error)
    {
        var position = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject) return true;
            // PropertyName: the field predicted for this position when its name matches, else the path lookup.
            var field = prefixLength == 0 ? Predicted(position) : -1;
            var pathCopied = false;
            var pathLength = 0;
            if (field < 0 || !reader.ValueTextEquals(_topLevelNames[field]))
            {
                pathLength = CopyName(ref reader, prefixLength);
                pathCopied = true;
                field = _lookup.TryGetValue(_path.AsSpan(0, pathLength), out var found) ? found : -1;
                if (prefixLength == 0) Predict(position, field);
            }
            position++;
            if (!reader.Read()) break;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    if (depth >= MaxDepth) { reader.Skip(); break; }
                    if (!pathCopied) pathLength = CopyName(_topLevelNames[field]!);
                    _path[pathLength] = '.';
                    if (!ReadObject(ref reader, batch, row, pathLength + 1, depth + 1, ref error)) return false;
                    break;
                case JsonTokenType.StartArray:
                    reader.Skip();
                    break;
                default:
                    if (field >= 0 && !WriteValue(ref reader, batch, row, field, ref error)) return false;
                    break;
            }
        }
        error = "the JSON object is not closed";
        return false;
    }

    private int Predicted(int position) => position < _predicted.Length ? _predicted[position] : -1;

    private void Predict(int position, int field)
    {
        if (position >= _predicted.Length)
        {
            if (position >= 1024) return; // objects this wide are looked up name by name
            var grown = new int[Math.Max(position + 1, _predicted.Length * 2)];
            Array.Fill(grown, -1);
            _predicted.CopyTo(grown, 0);
            _predicted = grown;
        }
        _predicted[position] = field >= 0 && _topLevelNames[field] is not null ? field : -1;
    }

    // Appends the current property name to the prefix in _path; returns the path's length.
    private int CopyName(ref Utf8JsonReader reader, int prefixLength)
    {
        var nameLength = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        EnsurePath(prefixLength + nameLength + 1);
        return prefixLength + reader.CopyString(_path.AsSpan(prefixLength));
    }

    private int CopyName(byte[] utf8)
    {
        EnsurePath(Encoding.UTF8.GetMaxCharCount(utf8.Length) + 1);
        return Encoding.UTF8.GetChars(utf8, _path);
    }

    private void EnsurePath(int length)
    {
        if (length > _path.Length) Array.Resize(ref _path, Math.Max(length, _path.Length * 2));
    }

    private bool WriteValue(ref Utf8JsonReader reader, ColumnBatch batch, int row, int field, ref string? error)
    {
        _seen[field] = true;
        var column = batch[_columns[field]];
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (!_fields[field].Nullable)
            {
                error = $"required field '{_fields[field].Name}' is null";
                return false;
            }
            column.SetNull(row);
            return true;
        }
        column.SetValid(row);
        var ok = column.Type switch
        {
            ColumnType.Float32 => ReadFloat(ref reader, out column.Values<float>()[row]),
            ColumnType.Float64 => ReadDouble(ref reader, out column.Values<double>()[row]),
            ColumnType.Int32 => reader.TokenType == JsonTokenType.Number ? reader.TryGetInt32(out column.Values<int>()[row])
                : reader.TokenType == JsonTokenType.String && int.TryParse(Text(ref reader), NumberStyles.Integer, CultureInfo.InvariantCulture, out column.Values<int>()[row]),
            ColumnType.Int64 => reader.TokenType == JsonTokenType.Number ? reader.TryGetInt64(out column.Values<long>()[row])
                : reader.TokenType == JsonTokenType.String && long.TryParse(Text(ref reader), NumberStyles.Integer, CultureInfo.InvariantCulture, out column.Values<long>()[row]),
            ColumnType.Bool => ReadBool(ref reader, out column.Values<byte>()[row]),
            ColumnType.Timestamp => ReadTimestamp(ref reader, out column.Values<long>()[row]),
            ColumnType.String => WriteString(ref reader, column, row),
            _ => false,
        };
        if (!ok) error = $"field '{_fields[field].Name}' holds {Describe(ref reader)}, which is not a {ColumnTypes.Name(column.Type)}";
        return ok;
    }

    private string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"the text \"{Truncate(Text(ref reader))}\"",
        JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(reader.ValueSpan)}",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => reader.TokenType.ToString(),
    };

    private static string Truncate(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : string.Concat(text[..40], "...");

    private ReadOnlySpan<char> Text(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            var raw = reader.ValueSpan;
            if (raw.Length > _text.Length) _text = new char[raw.Length * 2];
            var n = Encoding.UTF8.GetChars(raw, _text);
            return _text.AsSpan(0, n);
        }
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (length > _text.Length) _text = new char[Math.Max(length, _text.Length * 2)];
        var written = reader.CopyString(_text);
        return _text.AsSpan(0, written);
    }

    private bool ReadFloat(ref Utf8JsonReader reader, out float value)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.TryGetSingle(out value);
        value = 0;
        return reader.TokenType == JsonTokenType.String && float.TryParse(Text(ref reader), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private bool ReadDouble(ref Utf8JsonReader reader, out double value)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.TryGetDouble(out value);
        value = 0;
        return reader.TokenType == JsonTokenType.String && double.TryParse(Text(ref reader), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static bool ReadBool(ref Utf8JsonReader reader, out byte value)
    {
        value = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
        if (reader.TokenType is JsonTokenType.True or JsonTokenType.False) return true;
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n) && n is 0 or 1)
        {
            value = (byte)n;
            return true;
        }
        return false;
    }

    private bool ReadTimestamp(ref Utf8JsonReader reader, out long micros)
    {
        micros = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetInt64(out var whole))
            {
                micros = whole * _unitToMicros;
                return true;
            }
            if (reader.TryGetDouble(out var fractional))
            {
                micros = (long)Math.Round(fractional * _unitToMicros);
                return true;
            }
            return false;
        }
        return reader.TokenType == JsonTokenType.String && TryParseTimestamp(Text(ref reader), out micros);
    }

    /// <summary>ISO 8601 text to UTC microseconds; text without an offset is taken as UTC.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out long micros)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            micros = (value.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
            return true;
        }
        micros = 0;
        return false;
    }

    private bool WriteString(ref Utf8JsonReader reader, Column column, int row)
    {
        var text = reader.TokenType switch
        {
            JsonTokenType.String or JsonTokenType.Number => Text(ref reader),
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            _ => default,
        };
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False)) return false;
        column.Values<int>()[row] = column.Dictionary!.GetOrAdd(text);
        return true;
    }
}
