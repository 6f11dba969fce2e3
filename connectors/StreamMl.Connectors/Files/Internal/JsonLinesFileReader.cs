using System.Text;
using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Splits a stream into lines of UTF-8 bytes without decoding them. The buffer grows to the longest line.</summary>
internal sealed class LineSplitter(Stream stream, long firstByte = 0, long firstLine = 1) : IDisposable
{
    public Stream Stream => stream;

    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _atStart = firstByte == 0;

    public long LineNumber { get; private set; } = firstLine - 1;

    public long BytesConsumed { get; private set; } = firstByte;

    /// <summary>The next line without its line break, valid until the next call; false at the end.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            if (_atStart)
            {
                if (_end - _start < 3 && !_eof)
                {
                    Refill();
                    continue;
                }
                // A UTF-8 byte-order mark (some Windows tools write one) is not part of the first object.
                _atStart = false;
                if (_buffer.AsSpan(_start, _end - _start).StartsWith("\uFEFF"u8))
                {
                    _start += 3;
                    BytesConsumed += 3;
                }
            }
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = TrimCr(_buffer.AsSpan(_start, newline));
                _start += newline + 1;
                BytesConsumed += newline + 1;
                LineNumber++;
                return true;
            }
            if (_eof)
            {
                if (_start < _end)
                {
                    line = TrimCr(_buffer.AsSpan(_start, _end - _start));
                    BytesConsumed += _end - _start;
                    _start = _end;
                    LineNumber++;
                    return true;
                }
                line = default;
                return false;
            }
            Refill();
        }
    }

    private void Refill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        var n = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0) _eof = true;
        _end += n;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    public void Dispose() => stream.Dispose();
}

/// <summary>Walks one JSON object, calling back for each scalar leaf with its dotted path. Arrays are skipped.</summary>
internal ref struct JsonLeafWalker
{
    /// <summary>Reads the object in <paramref name="json"/>; <paramref name="visitor"/> gets the path and the reader
    /// positioned on the value. Throws <see cref="JsonException"/> on syntax errors.</summary>
    public static void Walk<TVisitor>(ReadOnlySpan<byte> json, ref char[] path, ref TVisitor visitor) where TVisitor : struct, ILeafVisitor, allows ref struct
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"a line must hold one JSON object, found {(reader.TokenType == JsonTokenType.None ? "nothing" : reader.TokenType.ToString())}");
        Span<int> prefix = stackalloc int[64];
        var level = 0;
        prefix[0] = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                {
                    var length = prefix[level];
                    if (length > 0) path[length++] = '.';
                    var needed = length + reader.ValueSpan.Length + 1;
                    if (needed > path.Length) Array.Resize(ref path, Math.Max(needed, path.Length * 2));
                    length += reader.CopyString(path.AsSpan(length));
                    if (!reader.Read()) throw new JsonException("the object ends after a property name");
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        visitor.Container(path.AsSpan(0, length), isArray: false);
                        if (++level >= prefix.Length) throw new JsonException("objects are nested more than 63 deep");
                        prefix[level] = length;
                    }
                    else if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        visitor.Container(path.AsSpan(0, length), isArray: true);
                        reader.Skip();
                    }
                    else
                    {
                        visitor.Leaf(path.AsSpan(0, length), ref reader);
                    }
                    break;
                }
                case JsonTokenType.EndObject:
                    level--;
                    break;
            }
        }
        if (level >= 0) throw new JsonException("the line ends inside an object (missing '}')");
    }
}

/// <summary>Receives the scalar leaves of a JSON object.</summary>
internal interface ILeafVisitor
{
    void Leaf(ReadOnlySpan<char> path, ref Utf8JsonReader reader);

    /// <summary>An array (skipped) or an object (its leaves follow) starts at <paramref name="path"/>.</summary>
    void Container(ReadOnlySpan<char> path, bool isArray);
}

/// <summary>Reads JSON Lines (optionally gzip): one object per line, columns found by dotted path.</summary>
internal sealed class JsonLinesFileReader : FileReader
{
    private readonly LineSplitter _lines;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _fieldByPath;
    // The objects above the schema's paths ("user" and "user.address" for user.address.city): a null there holds them.
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _parentPaths;
    private readonly int[] _seen;
    private readonly HashSet<string> _unknown = new(StringComparer.Ordinal);
    private readonly string _fieldList;
    private char[] _path = new char[256];
    private char[] _chars = new char[256];
    private int _generation;
    private bool _sawText;
    private readonly bool _fromStart;

    public JsonLinesFileReader(string path, int partition, ReaderContext context) : this(path, partition, context, ReadRange.Whole)
    {
    }

    /// <summary>Reads <paramref name="range"/> of the file, numbering lines from <see cref="ReadRange.Line"/>.</summary>
    public JsonLinesFileReader(string path, int partition, ReaderContext context, ReadRange range) : base(path, partition, context)
    {
        _lines = new LineSplitter(InputStreams.Open(path, range.Start, range.Limit), range.Start, range.Line);
        NextLine = range.Line;
        _fromStart = range.Start == 0;
        var byPath = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < context.Schema.Count; i++)
        {
            var name = context.Schema[i].Name;
            byPath[context.Options.JsonPaths.TryGetValue(name, out var p) ? p : name] = i;
        }
        _fieldByPath = byPath.GetAlternateLookup<ReadOnlySpan<char>>();
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fieldPath in byPath.Keys)
            for (var dot = fieldPath.IndexOf('.'); dot > 0; dot = fieldPath.IndexOf('.', dot + 1)) parents.Add(fieldPath[..dot]);
        _parentPaths = parents.GetAlternateLookup<ReadOnlySpan<char>>();
        _seen = new int[context.Schema.Count];
        _fieldList = string.Join(", ", byPath.Keys);
    }

    public override string OffsetUnit => "line";

    public override long CurrentOffset => _lines.LineNumber;

    public override int Fill(ColumnBatch batch, int row, long ingestMicros)
    {
        var context = Context;
        var targets = context.Targets(batch);
        Filled = row;
        while (row < batch.Capacity)
        {
            var before = _lines.BytesConsumed;
            if (!_lines.TryReadLine(out var bytes))
            {
                Exhausted = true;
                (_lines.Stream as CheckedGzipStream)?.ThrowIfTruncated();
                if (!_sawText && SkipBefore <= 1 && _fromStart)
                    throw new BadInputException(new FileInfo(Path).Length == 0 ? "the file is empty (0 bytes): there is no JSON line"
                        : "the file holds no JSON line (only blank lines, white space or a byte-order mark)", $"{Path} line 1");
                break;
            }
            if (!_sawText && bytes.IndexOfAnyExcept(" \t\r"u8) >= 0) _sawText = true;
            var line = _lines.LineNumber;
            NextLine = line + 1;
            if (line < SkipBefore) continue;
            batch.Positions.Add(Partition, line, line + 1);
            if (bytes.IsEmpty || bytes.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) continue;
            _generation++;
            var visitor = new RowVisitor(this, batch, targets, row);
            try
            {
                JsonLeafWalker.Walk(bytes, ref _path, ref visitor);
            }
            catch (JsonException ex)
            {
                var position = ex.BytePositionInLine is { } p ? $", byte {p + 1} of the line (file byte {before + p:N0})" : "";
                context.Reject("json-syntax", $"JSON syntax error{position}: {FirstSentence(ex.Message)}", Path, OffsetUnit, Partition, line, Raw(bytes));
                continue;
            }
            if (visitor.Error is { } error)
            {
                context.Reject("type", error, Path, OffsetUnit, Partition, line, Raw(bytes));
                continue;
            }
            if (visitor.Matched == 0 && _seen.Length > 0)
            {
                // Read on, this line would be a row of nulls that no one wrote; CSV dead-letters a wrong field count alike.
                context.Reject("json-fields", $"none of the schema's fields ({_fieldList}) is in the line (its keys: {KeysOf(bytes)})",
                    Path, OffsetUnit, Partition, line, Raw(bytes));
                continue;
            }
            for (var f = 0; f < _seen.Length; f++)
                if (_seen[f] != _generation) batch[targets[f]].SetNull(row);
            context.Accept(batch, row, Partition, line, line + 1, ingestMicros);
            Filled = ++row;
        }
        context.BytesRead = _lines.BytesConsumed;
        return row;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static string Raw(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>The line's top-level keys, read as <see cref="JsonLeafWalker"/> reads the line (comments skipped): it
    /// has already parsed, so this cannot fail where the walker did not.</summary>
    private static string KeysOf(ReadOnlySpan<byte> bytes)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var keys = new List<string>();
        while (reader.Read())
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1) keys.Add(reader.GetString()!);
        return keys.Count == 0 ? "none" : string.Join(", ", keys);
    }

    /// <summary>Reports a key an inferred schema does not read (a declared schema leaves keys out on purpose), once per
    /// file, within the file's first sample of lines: a key that appears only in a later file is not silent.</summary>
    private void NoteUnknown(ReadOnlySpan<char> path)
    {
        if (Context.Options.Schema is not null || _lines.LineNumber > Context.Options.InferenceSampleRows) return;
        var lookup = _unknown.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.Contains(path)) return;
        lookup.Add(path);
        Context.SchemaChanges.Note(Path, path.ToString(), SchemaChangeKind.NotRead);
    }

    private ref struct RowVisitor(JsonLinesFileReader owner, ColumnBatch batch, int[] targets, int row) : ILeafVisitor
    {
        public string? Error;
        public int Matched;

        public void Leaf(ReadOnlySpan<char> path, ref Utf8JsonReader reader)
        {
            if (!owner._fieldByPath.TryGetValue(path, out var field))
            {
                // {"user": null} for user.name: the line has the field, as null (the row is not keyless).
                if (reader.TokenType == JsonTokenType.Null && owner._parentPaths.Contains(path)) Matched++;
                else owner.NoteUnknown(path);
                return;
            }
            Matched++;
            if (Error is not null) return;
            owner._seen[field] = owner._generation;
            var column = batch[targets[field]];
            if (!owner.TryWrite(ref reader, column, row))
            {
                var text = reader.TokenType == JsonTokenType.String ? $"\"{reader.GetString()}\"" : Encoding.UTF8.GetString(reader.ValueSpan);
                Error = $"field '{column.Field.Name}' (path {path}) is {text}, not a {ColumnTypes.Name(column.Type)}";
            }
        }

        /// <summary>A schema field holding an array or object has no value of its type: a type error, not a null.</summary>
        public void Container(ReadOnlySpan<char> path, bool isArray)
        {
            if (!owner._fieldByPath.TryGetValue(path, out var field)) return;
            Matched++;
            var column = batch[targets[field]];
            Error ??= $"field '{column.Field.Name}' (path {path}) is {(isArray ? "an array" : "an object")}, not a {ColumnTypes.Name(column.Type)}";
        }
    }

    private bool TryWrite(ref Utf8JsonReader reader, Column column, int row)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                column.SetNull(row);
                return true;
            case JsonTokenType.String:
            {
                var length = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
                if (length > _chars.Length) _chars = new char[Math.Max(length, _chars.Length * 2)];
                var chars = _chars.AsSpan(0, reader.CopyString(_chars));
                return FieldParser.TryWrite(chars, column, row, Context.Nulls);
            }
            case JsonTokenType.True or JsonTokenType.False:
                if (column.Type == ColumnType.Bool)
                {
                    column.Values<byte>()[row] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
                    if (column.MayHaveNulls) column.SetValid(row);
                    return true;
                }
                if (column.Type == ColumnType.String)
                    return FieldParser.TryWrite(reader.TokenType == JsonTokenType.True ? "true" : "false", column, row, Context.Nulls);
                return false;
            case JsonTokenType.Number:
            {
                bool ok;
                switch (column.Type)
                {
                    case ColumnType.Float32: ok = reader.TryGetSingle(out var f); if (ok) column.Values<float>()[row] = f; break;
                    case ColumnType.Float64: ok = reader.TryGetDouble(out var d); if (ok) column.Values<double>()[row] = d; break;
                    case ColumnType.Int32: ok = reader.TryGetInt32(out var i); if (ok) column.Values<int>()[row] = i; break;
                    case ColumnType.Int64: ok = reader.TryGetInt64(out var l); if (ok) column.Values<long>()[row] = l; break;
                    case ColumnType.String:
                    {
                        var span = reader.ValueSpan;
                        if (span.Length > _chars.Length) _chars = new char[span.Length * 2];
                        var count = Encoding.UTF8.GetChars(span, _chars);
                        column.Values<int>()[row] = column.Dictionary!.GetOrAdd(_chars.AsSpan(0, count));
                        ok = true;
                        break;
                    }
                    default: ok = false; break;
                }
                if (ok && column.MayHaveNulls) column.SetValid(row);
                return ok;
            }
            default:
                return false;
        }
    }

    public override void Dispose() => _lines.Dispose();
}
