using System.Runtime.CompilerServices;
using System.Text;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Parses the lines of a <see cref="CsvChunk"/> into its batch on a worker thread of
/// <see cref="ParallelCsvFileReader"/>, with the sequential reader's rules record for record: blank lines are skipped,
/// a wrong field count, invalid UTF-8 or a value that is not of its column's type is rejected with the same rule and
/// message, and fields are unquoted as Sep unquotes them (a field starting with a quote loses its outer quotes and a
/// doubled quote inside becomes one; text after a closing quote is kept). Every line of a chunk is one record (the
/// splitter sees to it), so a line is split at the separators outside quotes. One parser per thread: its buffers are
/// reused, nothing is allocated per chunk once they are large enough.</summary>
internal sealed unsafe class CsvChunkParser(ReaderContext context, char separator, int headerCount, IReadOnlyList<int> fieldToColumn)
{
    private const char Quote = '"';
    private static readonly UTF8Encoding s_utf8 = new(false, false);

    private readonly int[] _fieldToColumn = [.. fieldToColumn];
    private readonly ColumnType[] _types = [.. context.Schema.Select(f => f.Type)];
    private readonly bool _fastNumbers = !context.Nulls.AnyLooksNumeric;
    private readonly NullTokens _nulls = context.Nulls;
    private readonly Column[] _columns = new Column[context.Schema.Count];
    private readonly void*[] _values = new void*[context.Schema.Count];
    // Where each field of the current line starts and ends in _chars, and its quote count (headerCount + 1 kept: a line
    // with more fields is rejected and only counted).
    private readonly int[] _fieldStart = new int[headerCount + 1];
    private readonly int[] _fieldEnd = new int[headerCount + 1];
    private readonly int[] _fieldQuotes = new int[headerCount + 1];
    private char[] _chars = new char[1 << 16];

    /// <summary>Parses every line of <paramref name="chunk"/> from line <paramref name="skipBefore"/> on into its batch.</summary>
    public void Parse(CsvChunk chunk, long skipBefore)
    {
        var batch = chunk.Batch;
        batch.Reset();
        chunk.Rows = 0;
        chunk.Taken = 0;
        chunk.Rejects.Clear();
        chunk.RejectsPublished = 0;
        if (chunk.EndLine <= skipBefore) return;
        var bytes = chunk.Bytes.AsSpan(0, chunk.Length);
        var needed = s_utf8.GetMaxCharCount(bytes.Length);
        if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        // Lines end at line feeds, which no UTF-8 sequence contains, so decoding a chunk on its own gives the same text
        // (invalid bytes included, as U+FFFD) as decoding the whole file.
        var count = s_utf8.GetChars(bytes, _chars);
        for (var f = 0; f < _columns.Length; f++)
        {
            _columns[f] = batch[f];
            _values[f] = Unsafe.AsPointer(ref _columns[f].RawValues.GetPinnableReference());
        }
        var line = chunk.StartLine;
        var rows = 0;
        for (var start = 0; start < count; line++)
        {
            var newline = _chars.AsSpan(start, count - start).IndexOf('\n');
            var end = newline < 0 ? count : start + newline;
            var next = newline < 0 ? count : end + 1;
            if (end > start && _chars[end - 1] == '\r') end--;
            if (line >= skipBefore && ParseLine(chunk.Rejects, start, end, chunk.HasQuotes, line, rows))
            {
                batch.RowOffsetsBuffer[rows] = line;
                rows++;
            }
            start = next;
        }
        chunk.Rows = rows;
    }

    /// <summary>Makes <see cref="ParseLine(ReadOnlySpan{byte}, long, int, List{CsvReject})"/> write into
    /// <paramref name="batch"/>: schema field <c>f</c> into its column <paramref name="targets"/>[f].</summary>
    public void Bind(ColumnBatch batch, int[] targets)
    {
        for (var f = 0; f < _columns.Length; f++)
        {
            _columns[f] = batch[targets[f]];
            _values[f] = Unsafe.AsPointer(ref _columns[f].RawValues.GetPinnableReference());
        }
    }

    /// <summary>Parses one line (its bytes without the line feed; one record, as <see cref="CsvChunkSplitter"/>
    /// requires) into row <paramref name="row"/> of the bound batch; false when it is blank or rejected, with the
    /// rejection added to <paramref name="rejects"/>.</summary>
    public bool ParseLine(ReadOnlySpan<byte> bytes, long line, int row, List<CsvReject> rejects)
    {
        var needed = s_utf8.GetMaxCharCount(bytes.Length);
        if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        var end = s_utf8.GetChars(bytes, _chars);
        if (end > 0 && _chars[end - 1] == '\r') end--;
        return ParseLine(rejects, 0, end, bytes.Contains((byte)Quote), line, row);
    }

    /// <summary>Parses one line into row <paramref name="row"/>; false when it is blank or rejected.</summary>
    private bool ParseLine(List<CsvReject> rejects, int start, int end, bool hasQuotes, long line, int row)
    {
        var fields = Split(start, end, hasQuotes);
        var span = _chars.AsSpan(start, end - start);
        if (fields == 1 && span.IsWhiteSpace()) return false; // blank lines are not records
        if (fields != headerCount)
        {
            rejects.Add(new CsvReject(line, "csv-fields", $"expected {headerCount} fields as in the header, found {fields}", span.ToString()));
            return false;
        }
        if (span.Contains('\uFFFD'))
        {
            var column = span.IndexOf('\uFFFD');
            rejects.Add(new CsvReject(line, "encoding", $"invalid UTF-8 at character {column + 1} of the line; the file must be UTF-8", span.ToString()));
            return false;
        }
        var schema = context.Schema;
        for (var f = 0; f < _fieldToColumn.Length; f++)
        {
            var column = _columns[f];
            var source = _fieldToColumn[f];
            if (source < 0)
            {
                column.SetNull(row);
                continue;
            }
            var text = Field(source);
            if (_fastNumbers && CsvFileReader.TryWriteNumber(text, _types[f], _values[f], row))
            {
                if (column.MayHaveNulls) column.SetValid(row);
                continue;
            }
            if (FieldParser.TryWrite(text, column, row, _nulls)) continue;
            rejects.Add(new CsvReject(line, "type",
                $"field '{schema[f].Name}' (column {source + 1}) is '{text.ToString()}', not a {ColumnTypes.Name(schema[f].Type)}", span.ToString()));
            return false;
        }
        return true;
    }

    /// <summary>Finds the fields of the line between <paramref name="start"/> and <paramref name="end"/>; returns how
    /// many there are. A separator inside quotes (an odd number of quotes before it in its field) does not split.</summary>
    private int Split(int start, int end, bool hasQuotes)
    {
        var fields = 0;
        var fieldStart = start;
        var quotes = 0;
        var at = start;
        while (true)
        {
            var span = _chars.AsSpan(at, end - at);
            var found = hasQuotes ? span.IndexOfAny(separator, Quote) : span.IndexOf(separator);
            if (found < 0) break;
            at += found;
            if (_chars[at] == Quote)
            {
                quotes++;
            }
            else if ((quotes & 1) == 0)
            {
                if (fields < _fieldStart.Length)
                {
                    _fieldStart[fields] = fieldStart;
                    _fieldEnd[fields] = at;
                    _fieldQuotes[fields] = quotes;
                }
                fields++;
                fieldStart = at + 1;
                quotes = 0;
            }
            at++;
        }
        if (fields < _fieldStart.Length)
        {
            _fieldStart[fields] = fieldStart;
            _fieldEnd[fields] = end;
            _fieldQuotes[fields] = quotes;
        }
        return fields + 1;
    }

    /// <summary>The text of field <paramref name="index"/>, unquoted as Sep unquotes it: a field that does not start
    /// with a quote is taken as it is; "x" loses its outer quotes; otherwise, from after the first quote on, each quote
    /// that closes a quoted run is dropped (so "a""b" is a"b and "a"b is ab). The unquoting is done in place, as Sep
    /// does it, so a rejected line's raw text is what the sequential reader would show.</summary>
    private ReadOnlySpan<char> Field(int index)
    {
        var start = _fieldStart[index];
        var length = _fieldEnd[index] - start;
        var quotes = _fieldQuotes[index];
        if (quotes == 0 || _chars[start] != Quote) return _chars.AsSpan(start, length);
        if (quotes == 2 && _chars[start + length - 1] == Quote) return _chars.AsSpan(start + 1, length - 2);
        var field = _chars.AsSpan(start, length);
        var kept = 0;
        var seen = 1; // the opening quote
        for (var i = 1; i < field.Length; i++)
        {
            var c = field[i];
            field[kept] = c;
            var isQuote = c == Quote;
            if (isQuote) seen++;
            if (!isQuote || (seen & 1) != 0) kept++;
        }
        field[kept..].Fill(Quote);
        // A second call for the same field (the rejection message) must not unquote again.
        _fieldQuotes[index] = 0;
        _fieldEnd[index] = start + kept;
        return field[..kept];
    }
}
