using System.Globalization;
using System.Text;
using nietras.SeparatedValues;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Reads a CSV file (optionally gzip) with Sep. Structural errors do not stop the file: a row with the wrong
/// number of fields is dead-lettered, and a quote that is never closed (which makes Sep swallow the following lines)
/// dead-letters its first line and restarts parsing on the next one.</summary>
internal sealed unsafe class CsvFileReader : FileReader
{
    private readonly int[] _fieldToColumn;
    private readonly ColumnType[] _types;
    private readonly Column[] _columns;
    private readonly void*[] _values;
    private readonly bool _fastNumbers;
    private readonly int _headerCount;
    private SepReader _reader;
    private TextReader _text;
    private Stream _stream;
    private long _lineBase;
    // Sep numbers the first row of a reader without a header from line 2 (its end is right): after a restart that row
    // starts on the restart line.
    private bool _firstAfterRestart;
    private long _line;
    private readonly ReadRange _range;

    public CsvFileReader(string path, int partition, ReaderContext context) : this(path, partition, context, ReadRange.Whole)
    {
    }

    /// <summary>Reads <paramref name="range"/> of the file; a range after the start takes the header from the file's
    /// first line and numbers lines from <see cref="ReadRange.Line"/>.</summary>
    public CsvFileReader(string path, int partition, ReaderContext context, ReadRange range) : base(path, partition, context)
    {
        _range = range;
        (_reader, _text, _stream) = OpenReader(path, context.Options.Delimiter, skipLines: 0, hasHeader: true, limit: range.Start == 0 ? range.Limit : long.MaxValue);
        NextLine = 2; // after the header
        try
        {
            var header = _reader.Header.ColNames;
            _headerCount = header.Count;
            _fieldToColumn = [.. context.Schema.Select(f => IndexOf(header, f.Name))];
            _types = [.. context.Schema.Select(f => f.Type)];
            _columns = new Column[_types.Length];
            _values = new void*[_types.Length];
            _fastNumbers = !context.Nulls.AnyLooksNumeric;
            if (header.All(string.IsNullOrWhiteSpace))
            {
                (_stream as CheckedGzipStream)?.ThrowIfTruncated(); // a header cut by a bad gzip member: report the member
                throw new BadInputException(NoHeader(path), $"{path} line 1");
            }
            context.SchemaChanges.Compare(path, header, context.Schema, name => IndexOf(header, name));
            if (_fieldToColumn.All(i => i < 0) && context.Schema.Count > 0)
            {
                (_stream as CheckedGzipStream)?.ThrowIfTruncated();
                throw new BadInputException(
                    $"none of the schema's columns ({string.Join(", ", context.Schema.Select(f => f.Name))}) is in the header ({string.Join(", ", header)})",
                    $"{path} line 1");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        if (range.Start > 0) Restart(range.Line - 1);
    }

    /// <summary>Why a file has no header: empty, only a byte-order mark or white space, or a blank first line.</summary>
    internal static string NoHeader(string path)
    {
        var length = new FileInfo(path).Length;
        return length == 0 ? "the file is empty (0 bytes): there is no header line and no row"
            : "the file has no header: its first line is blank (the file may hold only a byte-order mark or white space)";
    }

    public override string OffsetUnit => "line";

    /// <summary>The field separator, given or detected from the header.</summary>
    public char Separator => _reader.Spec.Sep.Separator;

    /// <summary>Fields in the header: a record with another number is dead-lettered (<c>csv-fields</c>).</summary>
    public int HeaderCount => _headerCount;

    /// <summary>For each schema column, its field in the file, or -1 when the file lacks it.</summary>
    public IReadOnlyList<int> FieldToColumn => _fieldToColumn;

    public override long CurrentOffset => _line;

    /// <summary>The column names of the file's header.</summary>
    public static IReadOnlyList<string> ReadHeader(SepReader reader) => reader.Header.ColNames;

    internal static (SepReader Reader, TextReader Text, Stream Stream) OpenReader(string path, char? delimiter, long skipLines, bool hasHeader,
        long start = 0, long limit = long.MaxValue)
    {
        var stream = InputStreams.Open(path, start, limit);
        // Replacement decoding: invalid UTF-8 turns into U+FFFD, which each row is checked for, so one bad byte costs
        // one row instead of the whole file.
        var text = new StreamReader(stream, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: true, 1 << 16);
        for (var i = 0L; i < skipLines; i++)
            if (text.ReadLine() is null) break;
        var options = new SepReaderOptions(delimiter is { } d ? new Sep(d) : null) with
        {
            HasHeader = hasHeader,
            DisableColCountCheck = true,
            Unescape = true,
            CultureInfo = CultureInfo.InvariantCulture,
        };
        try
        {
            return (options.From(text), text, stream);
        }
        catch (ArgumentException) when (hasHeader)
        {
            // Sep refuses a header that names a column twice; say which, in the file's terms.
            text.Dispose();
            throw new BadInputException(DuplicateHeaderNames(path, delimiter), $"{path} line 1");
        }
    }

    /// <summary>Describes the repeated names of the file's header, e.g. "the header names column 'a' twice (columns 1 and 3)".</summary>
    private static string DuplicateHeaderNames(string path, char? delimiter)
    {
        var (reader, text, _) = OpenReader(path, delimiter, 0, hasHeader: false);
        using var _ = text;
        using var __ = reader;
        if (!reader.MoveNext()) return "the header cannot be read";
        var names = new string[reader.Current.ColCount];
        for (var i = 0; i < names.Length; i++) names[i] = reader.Current[i].ToString();
        var repeats = names.Select((name, i) => (name, column: i + 1)).GroupBy(n => n.name, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"'{g.Key}' {(g.Count() == 2 ? "twice" : $"{g.Count()} times")} (columns {string.Join(" and ", g.Select(n => n.column))})");
        return $"the header names column {string.Join(", column ", repeats)}: every column needs its own name, rename the repeats; the file is skipped";
    }

    public override int Fill(ColumnBatch batch, int row, long ingestMicros)
    {
        var context = Context;
        var targets = context.Targets(batch);
        Filled = row;
        var nulls = context.Nulls;
        var schema = context.Schema;
        for (var f = 0; f < _columns.Length; f++)
        {
            _columns[f] = batch[targets[f]];
            _values[f] = System.Runtime.CompilerServices.Unsafe.AsPointer(ref _columns[f].RawValues.GetPinnableReference());
        }
        while (row < batch.Capacity)
        {
            if (!_reader.MoveNext())
            {
                Exhausted = true;
                (_stream as CheckedGzipStream)?.ThrowIfTruncated();
                break;
            }
            var current = _reader.Current;
            var line = _firstAfterRestart ? _lineBase + 1 : _lineBase + current.LineNumberFrom;
            var next = _lineBase + current.LineNumberToExcl;
            _firstAfterRestart = false;
            _line = line;
            NextLine = next;
            if (line < SkipBefore)
            {
                // A record running past the resume point is a quote that is never closed: the run that committed these
                // lines dead-lettered its first line and parsed on, so this one restarts where that run's commit ended.
                if (next > SkipBefore) Restart(SkipBefore - 1);
                continue;
            }
            var span = current.Span;
            if (current.ColCount == 1 && span.IsWhiteSpace())
            {
                batch.Positions.Add(Partition, line, next);
                continue; // blank lines are not records
            }
            // A quote never closed swallows the following lines into one record: its field count is wrong, or, when the
            // quote opens the last field, its raw text holds an odd number of quotes (a closed field has them in pairs).
            var swallowed = next - line > 1 && span.Contains('"') && (current.ColCount != _headerCount || span.Count('"') % 2 != 0);
            if (swallowed || current.ColCount != _headerCount)
            {
                if (swallowed)
                {
                    var firstLine = span.IndexOfAny('\r', '\n') is var nl and >= 0 ? span[..nl].ToString() : span.ToString();
                    batch.Positions.Add(Partition, line, line + 1);
                    context.Reject("csv-quote", $"a quoted field is never closed (the quote swallowed lines {line}-{next - 1}); " +
                        "the line was skipped and parsing restarts on the next line: fix the quoting", Path, OffsetUnit, Partition, line, firstLine);
                    Restart(line);
                    continue;
                }
                batch.Positions.Add(Partition, line, next);
                context.Reject("csv-fields", $"expected {_headerCount} fields as in the header, found {current.ColCount}",
                    Path, OffsetUnit, Partition, line, span.ToString());
                continue;
            }
            if (span.Contains('\uFFFD'))
            {
                batch.Positions.Add(Partition, line, next);
                var column = span.IndexOf('\uFFFD');
                context.Reject("encoding", $"invalid UTF-8 at character {column + 1} of the line; the file must be UTF-8",
                    Path, OffsetUnit, Partition, line, span.ToString());
                continue;
            }
            var bad = ParseFields(current, row, nulls);
            if (bad >= 0)
            {
                batch.Positions.Add(Partition, line, next);
                var text = current[_fieldToColumn[bad]].ToString();
                context.Reject("type", $"field '{schema[bad].Name}' (column {_fieldToColumn[bad] + 1}) is '{text}', not a {ColumnTypes.Name(schema[bad].Type)}",
                    Path, OffsetUnit, Partition, line, current.Span.ToString());
                continue;
            }
            context.Accept(batch, row, Partition, line, next, ingestMicros);
            Filled = ++row;
        }
        return row;
    }

    /// <summary>Parses the fields of one record into row <paramref name="row"/>; returns the schema index of the first
    /// field that is not a value of its column's type, or -1. Plain integers and decimal numbers are parsed straight
    /// into the column's native buffer (pinned for the batch's lifetime), everything else through
    /// <see cref="FieldParser.TryWrite"/>: on the credit file the general path cost twice the Sep loop.</summary>
    private int ParseFields(SepReader.Row current, int row, NullTokens nulls)
    {
        for (var f = 0; f < _fieldToColumn.Length; f++)
        {
            var column = _columns[f];
            var source = _fieldToColumn[f];
            if (source < 0)
            {
                column.SetNull(row);
                continue;
            }
            var text = current[source].Span;
            if (_fastNumbers && TryWriteNumber(text, _types[f], _values[f], row))
            {
                if (column.MayHaveNulls) column.SetValid(row);
                continue;
            }
            if (!FieldParser.TryWrite(text, column, row, nulls)) return f;
        }
        return -1;
    }

    /// <summary>Writes a plain integer or decimal number straight into a column's native buffer; false for anything
    /// else (which then takes <see cref="FieldParser.TryWrite"/>).</summary>
    internal static bool TryWriteNumber(ReadOnlySpan<char> text, ColumnType type, void* values, int row)
    {
        switch (type)
        {
            case ColumnType.Int64:
                if (!FieldParser.TryParsePlainInteger(text, out var l)) return false;
                ((long*)values)[row] = l;
                return true;
            case ColumnType.Int32:
                if (!FieldParser.TryParsePlainInteger(text, out var i) || i is < int.MinValue or > int.MaxValue) return false;
                ((int*)values)[row] = (int)i;
                return true;
            case ColumnType.Float64:
                if (!FieldParser.StartsLikeNumber(text) || !double.TryParse(text, System.Globalization.NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return false;
                ((double*)values)[row] = d;
                return true;
            case ColumnType.Float32:
                if (!FieldParser.StartsLikeNumber(text) || !float.TryParse(text, System.Globalization.NumberStyles.Float, CultureInfo.InvariantCulture, out var s)) return false;
                ((float*)values)[row] = s;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reopens the file after line <paramref name="badLine"/>, without a header, keeping line numbers absolute
    /// (from the start of the range read, whose first line is known).</summary>
    private void Restart(long badLine)
    {
        var separator = _reader.Spec.Sep.Separator;
        _reader.Dispose();
        _text.Dispose();
        (_reader, _text, _stream) = _range.Start > 0
            ? OpenReader(Path, separator, badLine - (_range.Line - 1), hasHeader: false, _range.Start, _range.Limit)
            : OpenReader(Path, separator, badLine, hasHeader: false, 0, _range.Limit);
        _lineBase = badLine;
        _firstAfterRestart = true;
    }

    private static int IndexOf(IReadOnlyList<string> header, string name)
    {
        for (var i = 0; i < header.Count; i++)
            if (header[i] == name) return i;
        for (var i = 0; i < header.Count; i++)
            if (header[i].Trim().Equals(name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    public override void Dispose()
    {
        _reader.Dispose();
        _text.Dispose();
    }
}
