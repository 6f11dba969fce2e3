using System.Runtime.CompilerServices;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Reads a plain (not gzip) CSV file on the source's thread from its UTF-8 bytes, splitting each line and
/// parsing its fields in one pass straight into the batch's columns, with <see cref="CsvFileReader"/>'s rows, line
/// numbers, positions and dead letters. Per field: integers and decimals (<see cref="Utf8Numbers"/>) are parsed while
/// the field is scanned; any other unquoted ASCII field goes through <see cref="FieldParser.TryWrite"/> as the Sep
/// reader would pass it. A line with anything else (a quote, a byte above ASCII, a wrong field count, a blank line, a
/// value that does not parse) is parsed again by <see cref="CsvChunkParser"/>, which gives the Sep reader's result and
/// rejection for a one-line record; from the first line that is not one record (an odd number of quotes, a lone
/// carriage return) the rest of the file is read by a <see cref="CsvFileReader"/> from that line. The header is read,
/// checked and mapped by a <see cref="CsvFileReader"/> too. On the credit file this took the source's thread CPU per
/// row from 1.2× to 0.75× that of Sep's own enumeration with <c>long.Parse</c> (CsvSourceBenchmarks and the
/// csv-source-cpu probe, docs/BENCHMARKS.md "CSV source from bytes").</summary>
internal sealed unsafe class ByteCsvFileReader : FileReader
{
    private const byte LineFeed = (byte)'\n';
    private const byte CarriageReturn = (byte)'\r';
    private const byte Quote = (byte)'"';
    private const int Slack = 8;

    private readonly FileStream _file;
    private readonly CsvChunkParser _lineParser;
    private readonly List<CsvReject> _rejects = [];
    private readonly byte _separator;
    private readonly int _headerCount;
    private readonly bool _fastNumbers;
    // Per field of the file: the schema field it fills (-1: none) and that field's type.
    private readonly int[] _fileToSchema;
    private readonly ColumnType[] _fileTypes;
    // Schema fields the file lacks: null in every row.
    private readonly int[] _missing;
    private readonly Column[] _columns;
    private readonly void*[] _values;
    private readonly char[] _text = new char[256];
    private CsvFileReader? _sequential;
    private byte[] _buffer;
    private int _position; // next byte to parse
    private int _linesEnd; // after the last line feed in the buffer: bytes before it are whole lines
    private int _length; // bytes in the buffer
    private long _bufferStart; // file offset of _buffer[0]
    private bool _endOfFile;
    private long _line = 1;
    private long _lastLine;
    private bool _handedOver;
    private bool _disposed;

    /// <summary>Opens the file at <paramref name="dataStart"/>, the byte after the header that
    /// <paramref name="header"/> (a sequential reader at line 2) read and checked; the reader then belongs to this one.</summary>
    private ByteCsvFileReader(string path, int partition, ReaderContext context, CsvFileReader header, long dataStart) : base(path, partition, context)
    {
        _sequential = header;
        _separator = (byte)header.Separator;
        _headerCount = header.HeaderCount;
        _fastNumbers = !context.Nulls.AnyLooksNumeric;
        var schema = context.Schema;
        _fileToSchema = new int[_headerCount];
        _fileToSchema.AsSpan().Fill(-1);
        var fieldToColumn = header.FieldToColumn;
        for (var f = 0; f < fieldToColumn.Count; f++)
            if (fieldToColumn[f] >= 0) _fileToSchema[fieldToColumn[f]] = f;
        _fileTypes = [.. _fileToSchema.Select(f => f < 0 ? ColumnType.String : schema[f].Type)];
        _missing = [.. Enumerable.Range(0, fieldToColumn.Count).Where(f => fieldToColumn[f] < 0)];
        _columns = new Column[schema.Count];
        _values = new void*[schema.Count];
        _lineParser = new CsvChunkParser(context, header.Separator, _headerCount, fieldToColumn);
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        _file.Position = dataStart;
        _bufferStart = dataStart;
        var size = (int)Math.Clamp(_file.Length - dataStart + Slack + 1, 4096, 1 << 18);
        _buffer = context.CsvBytes is { } kept && kept.Length >= size ? kept : new byte[size];
        context.CsvBytes = null;
        _line = 2;
        NextLine = 2;
    }

    /// <summary>A reader for the whole file at <paramref name="path"/>: this one when the file can be read from its
    /// bytes (a single-byte separator that no number contains, a header on one line, each schema column in one field),
    /// else a <see cref="CsvFileReader"/>.</summary>
    public static FileReader Open(string path, int partition, ReaderContext context)
    {
        var header = new CsvFileReader(path, partition, context);
        try
        {
            var separator = header.Separator;
            var mapped = header.FieldToColumn.Where(c => c >= 0).ToArray();
            if (separator > 0x7F || char.IsAsciiLetterOrDigit(separator) || separator is '-' or '+' or '.' or '"' or '\r' or '\n'
                || mapped.Distinct().Count() != mapped.Length)
                return header;
            var dataStart = CsvChunkSplitter.DataStart(path);
            return dataStart < 0 ? header : new ByteCsvFileReader(path, partition, context, header, dataStart);
        }
        catch
        {
            header.Dispose();
            throw;
        }
    }

    public override string OffsetUnit => "line";

    public override long CurrentOffset => _handedOver ? _sequential!.CurrentOffset : _lastLine;

    public override int Fill(ColumnBatch batch, int row, long ingestMicros)
    {
        if (_handedOver) return FillSequential(_sequential!, batch, row, ingestMicros);
        Filled = row;
        var context = Context;
        var targets = context.Targets(batch);
        for (var f = 0; f < _columns.Length; f++)
        {
            var column = batch[targets[f]];
            _columns[f] = column;
            _values[f] = Unsafe.AsPointer(ref column.RawValues.GetPinnableReference());
        }
        var bound = false;
        while (row < batch.Capacity)
        {
            if (_position == _linesEnd && !ReadLines())
            {
                Exhausted = true;
                break;
            }
            var line = _line;
            var start = _position;
            _lastLine = line;
            if (line < SkipBefore)
            {
                // Committed by an earlier run: passed over unparsed, as the sequential reader does.
                _position = start + _buffer.AsSpan(start, _linesEnd - start).IndexOf(LineFeed) + 1;
                _line = NextLine = line + 1;
                continue;
            }
            var end = TryParseLine(start, row);
            if (end < 0)
            {
                var lineEnd = start + _buffer.AsSpan(start, _linesEnd - start).IndexOf(LineFeed);
                var bytes = _buffer.AsSpan(start, lineEnd - start);
                if (!IsOneRecord(bytes))
                {
                    // A quoted field over several lines or a quote never closed: Sep reads the rest from this line.
                    _sequential?.Dispose();
                    _sequential = new CsvFileReader(Path, Partition, context, new ReadRange(_bufferStart + start, line, long.MaxValue));
                    _handedOver = true;
                    Context.SequentialHandovers++;
                    return FillSequential(_sequential, batch, row, ingestMicros);
                }
                if (!bound)
                {
                    _lineParser.Bind(batch, targets);
                    bound = true;
                }
                _position = lineEnd + 1;
                _line = NextLine = line + 1;
                if (!_lineParser.ParseLine(bytes, line, row, _rejects))
                {
                    batch.Positions.Add(Partition, line, line + 1);
                    foreach (var reject in _rejects) context.Reject(reject.Rule, reject.Message, Path, OffsetUnit, Partition, line, reject.Raw);
                    _rejects.Clear();
                    continue;
                }
            }
            else
            {
                _position = end;
                _line = NextLine = line + 1;
            }
            foreach (var f in _missing) _columns[f].SetNull(row);
            context.Accept(batch, row, Partition, line, line + 1, ingestMicros);
            Filled = ++row;
        }
        if (_sequential is not null && !_handedOver && _line > 2)
        {
            // The header reader is kept only while the first line may still hand over.
            _sequential.Dispose();
            _sequential = null;
        }
        return row;
    }

    /// <summary>Parses the line at <paramref name="start"/> into row <paramref name="row"/> when every field is a plain
    /// value; returns the byte after its line feed, or -1 (the row is then written again or rejected by the caller).</summary>
    private int TryParseLine(int start, int row)
    {
        fixed (byte* buffer = _buffer)
        {
            var p = buffer + start;
            var last = _headerCount - 1;
            for (var field = 0; field <= last; field++)
            {
                var terminator = field == last ? LineFeed : _separator;
                var target = _fileToSchema[field];
                byte* after = null;
                if (_fastNumbers && target >= 0)
                {
                    switch (_fileTypes[field])
                    {
                        case ColumnType.Int64:
                            after = Utf8Numbers.TryParseInt64(p, out var l);
                            if (after is not null) ((long*)_values[target])[row] = l;
                            break;
                        case ColumnType.Int32:
                            after = Utf8Numbers.TryParseInt64(p, out var i);
                            if (after is not null && i is >= int.MinValue and <= int.MaxValue) ((int*)_values[target])[row] = (int)i;
                            else after = null;
                            break;
                        case ColumnType.Float64:
                            after = Utf8Numbers.TryParseDouble(p, out var d);
                            if (after is not null) ((double*)_values[target])[row] = d;
                            break;
                        case ColumnType.Float32:
                            after = Utf8Numbers.TryParseSingle(p, out var s);
                            if (after is not null) ((float*)_values[target])[row] = s;
                            break;
                    }
                    if (after is not null && *after == CarriageReturn && field == last && after[1] == LineFeed) after++;
                    if (after is not null && *after != terminator) after = null;
                    // Read each time: a null (or a rejected line's partial row) can turn it on part way through a batch.
                    if (after is not null && _columns[target].MayHaveNulls) _columns[target].SetValid(row);
                }
                if (after is null) after = ParseText(p, terminator, field, target, row);
                if (after is null) return -1;
                p = after + 1;
            }
            return (int)(p - buffer);
        }
    }

    /// <summary>A field that is not a plain number: unquoted ASCII text up to <paramref name="terminator"/> is written
    /// by <see cref="FieldParser.TryWrite"/> (skipped for a field the schema leaves out); returns the terminator's
    /// address, or null for anything the line parser must see (quotes, other bytes, a lone carriage return, another
    /// field count, a blank line, text that is not a value of the column's type).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte* ParseText(byte* p, byte terminator, int field, int target, int row)
    {
        var start = p;
        while (true)
        {
            var b = *p;
            if (b == terminator) break;
            if (b == CarriageReturn && terminator == LineFeed && p[1] == LineFeed) break;
            if (b is LineFeed or CarriageReturn or Quote or >= 0x80 || b == _separator) return null;
            p++;
        }
        var length = (int)(p - start);
        // One field per line: a blank line is not a record (the line parser says so); a one-field file has no other.
        if (_headerCount == 1) return null;
        if (target < 0) return *p == CarriageReturn ? p + 1 : p;
        if (length > _text.Length) return null;
        var text = _text.AsSpan(0, length);
        System.Text.Ascii.ToUtf16(new ReadOnlySpan<byte>(start, length), text, out _);
        if (!FieldParser.TryWrite(text, _columns[target], row, Context.Nulls)) return null;
        return *p == CarriageReturn ? p + 1 : p;
    }

    /// <summary>True when the line is a record of its own: an even number of quotes, no carriage return but one just
    /// before the line feed.</summary>
    private static bool IsOneRecord(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty && bytes[^1] == CarriageReturn) bytes = bytes[..^1];
        return !bytes.Contains(CarriageReturn) && (bytes.Count(Quote) & 1) == 0;
    }

    /// <summary>Makes the buffer hold at least one whole line from <see cref="_position"/> on (the file's last line,
    /// when it lacks one, gets a line feed); false at the end of the file.</summary>
    private bool ReadLines()
    {
        var carried = _length - _position;
        _buffer.AsSpan(_position, carried).CopyTo(_buffer);
        _bufferStart += _position;
        _position = 0;
        _length = carried;
        _linesEnd = 0;
        while (true)
        {
            // Slack after the data: the number parsers read a word at a time (Utf8Numbers.TryParseInt64).
            if (_buffer.Length - _length <= Slack) Array.Resize(ref _buffer, _buffer.Length * 2);
            var read = _endOfFile ? 0 : _file.Read(_buffer, _length, _buffer.Length - Slack - _length);
            if (read == 0)
            {
                _endOfFile = true;
                if (_length == 0) return false;
                if (_buffer[_length - 1] != LineFeed) _buffer[_length++] = LineFeed;
                _linesEnd = _length;
                return true;
            }
            var newLine = _buffer.AsSpan(_length, read).LastIndexOf(LineFeed);
            _length += read;
            if (newLine >= 0)
            {
                _linesEnd = _length - read + newLine + 1;
                return true;
            }
        }
    }

    private int FillSequential(CsvFileReader reader, ColumnBatch batch, int row, long ingestMicros)
    {
        reader.SkipBefore = SkipBefore;
        try
        {
            row = reader.Fill(batch, row, ingestMicros);
        }
        finally
        {
            Filled = reader.Filled;
            Exhausted = reader.Exhausted;
            NextLine = reader.NextLine;
        }
        return row;
    }

    public override void Dispose()
    {
        _file.Dispose();
        // Handed on once only: a second Dispose must not give the next reader's buffer to a third.
        if (!_disposed && _buffer.Length <= 1 << 20 && (Context.CsvBytes is null || Context.CsvBytes.Length < _buffer.Length)) Context.CsvBytes = _buffer;
        _disposed = true;
        _sequential?.Dispose();
        _sequential = null;
    }
}
