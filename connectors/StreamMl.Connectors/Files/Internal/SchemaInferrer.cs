using System.Globalization;
using System.Text.Json;
using Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Infers a schema from the first rows of a file, and adds the columns that only later files have.</summary>
internal static class SchemaInferrer
{
    /// <summary>Extends <paramref name="inference"/> (of the first usable file) with the other files present
    /// (the header of a CSV file, the schema of a Parquet file, the first sampled lines of a JSON Lines file): a column
    /// only they have is added, nullable, typed from the first file that has it, and every difference is reported in
    /// <see cref="SchemaInference.Changes"/>. A file that cannot be looked at is left to the reader, which reports it.</summary>
    public static SchemaInference Extend(SchemaInference inference, IReadOnlyList<string> files, Func<string, FileFormat> formatOf, FileSourceOptions options)
    {
        var first = inference.File;
        var columns = inference.Columns.ToList();
        var known = new HashSet<string>(columns.Select(c => c.Name), StringComparer.Ordinal);
        var changes = new List<SchemaChange>();
        foreach (var file in files)
        {
            if (file == first) continue;
            try
            {
                var format = formatOf(file);
                // A CSV file's header tells whether it has new columns; only then are its rows sampled for their types.
                IReadOnlyList<string>? header = format == FileFormat.Csv ? CsvHeader(file, options) : null;
                if (header is not null && header.All(h => Knows(known, h, format)))
                {
                    foreach (var c in columns.Where(c => !header.Any(h => Same(h, c.Name, format)))) changes.Add(new SchemaChange(file, c.Name, SchemaChangeKind.Missing));
                    continue;
                }
                var other = Infer(file, format, options);
                foreach (var column in other.Columns.Where(c => !Knows(known, c.Name, format)))
                {
                    known.Add(column.Name);
                    columns.Add(column with { Reason = $"{column.Reason} (first seen in {Path.GetFileName(file)})" });
                    changes.Add(new SchemaChange(file, column.Name, SchemaChangeKind.Added));
                }
                if (format != FileFormat.JsonLines) // JSON Lines objects may leave out any key: absence is not a change
                    foreach (var c in columns.Where(c => !other.Columns.Any(o => Same(o.Name, c.Name, format))))
                        changes.Add(new SchemaChange(file, c.Name, SchemaChangeKind.Missing));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Unreadable here means unreadable when read: the reader dead-letters the file with the reason.
            }
        }
        return new SchemaInference(inference.File, inference.SampledRows, columns) { Changes = changes };
    }

    private static bool Knows(HashSet<string> known, string name, FileFormat format) =>
        known.Contains(name) || (format == FileFormat.Csv && known.Any(k => Same(name, k, format)));

    /// <summary>Whether a file's column is a schema column, matched as the reader matches it (a CSV header name also
    /// trimmed and ignoring case, see CsvFileReader.IndexOf).</summary>
    private static bool Same(string fileColumn, string schemaColumn, FileFormat format) =>
        fileColumn == schemaColumn || (format == FileFormat.Csv && fileColumn.Trim().Equals(schemaColumn, StringComparison.OrdinalIgnoreCase));

    private static IReadOnlyList<string> CsvHeader(string path, FileSourceOptions options)
    {
        var (reader, text, _) = CsvFileReader.OpenReader(path, options.Delimiter, 0, hasHeader: true);
        using var _ = reader;
        using var __ = text;
        return [.. reader.Header.ColNames];
    }

    public static SchemaInference Infer(string path, FileFormat format, FileSourceOptions options)
    {
        // Below one half a minority kind could win and dead-letter most rows; at 0 or NaN a column of words became
        // true/false with every row an outlier.
        if (options.InferenceThreshold is not (>= 0.5 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.InferenceThreshold,
                $"{nameof(FileSourceOptions)}.{nameof(FileSourceOptions.InferenceThreshold)} must be between 0.5 and 1");
        var nulls = new NullTokens(options.NullTokens, options.Trim);
        return format switch
        {
            FileFormat.Csv => InferCsv(path, options, nulls),
            FileFormat.JsonLines => InferJson(path, options, nulls),
            FileFormat.Parquet => InferParquet(path, options),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    private static SchemaInference InferCsv(string path, FileSourceOptions options, NullTokens nulls)
    {
        var (reader, text, _) = CsvFileReader.OpenReader(path, options.Delimiter, 0, hasHeader: true);
        using var _ = reader;
        using var __ = text;
        var header = reader.Header.ColNames;
        var votes = header.Select(n => new TypeVote(n)).ToArray();
        long rows = 0;
        try
        {
            while (rows < options.InferenceSampleRows && reader.MoveNext())
            {
                var row = reader.Current;
                if (row.ColCount != header.Count) continue; // malformed rows are reported when read, not here
                rows++;
                for (var c = 0; c < votes.Length; c++) votes[c].AddText(row[c].Span, nulls, row.LineNumberFrom);
            }
        }
        catch (BadInputException)
        {
            // A truncated file still yields the schema of the rows before the cut; reading it reports the cut.
        }
        return new SchemaInference(path, rows, [.. votes.Select(v => v.Decide(options.TypeOverrides, options.InferenceThreshold))]);
    }

    private static SchemaInference InferJson(string path, FileSourceOptions options, NullTokens nulls)
    {
        using var lines = new LineSplitter(InputStreams.Open(path));
        var votes = new List<TypeVote>();
        var byPath = new Dictionary<string, TypeVote>(StringComparer.Ordinal);
        var pathBuffer = new char[256];
        long rows = 0;
        try
        {
            while (rows < options.InferenceSampleRows && lines.TryReadLine(out var line))
            {
                if (line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) continue;
                var visitor = new VoteVisitor(votes, byPath, nulls, lines.LineNumber);
                try
                {
                    JsonLeafWalker.Walk(line, ref pathBuffer, ref visitor);
                    rows++;
                }
                catch (JsonException)
                {
                    // Bad lines are dead-lettered when read.
                }
            }
        }
        catch (BadInputException)
        {
        }
        // A path missing from some lines is null there.
        foreach (var vote in votes)
            for (var i = vote.NonNull + vote.Nulls; i < rows; i++) vote.AddNull();
        return new SchemaInference(path, rows, [.. votes.Select(v => v.Decide(options.TypeOverrides, options.InferenceThreshold))]);
    }

    private ref struct VoteVisitor(List<TypeVote> votes, Dictionary<string, TypeVote> byPath, NullTokens nulls, long line) : ILeafVisitor
    {
        /// <summary>Arrays are not columns, and an object's leaves are.</summary>
        public readonly void Container(ReadOnlySpan<char> path, bool isArray) { }

        public void Leaf(ReadOnlySpan<char> path, ref Utf8JsonReader reader)
        {
            var lookup = byPath.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(path, out var vote))
            {
                vote = new TypeVote(path.ToString());
                byPath[vote.Name] = vote;
                votes.Add(vote);
            }
            switch (reader.TokenType)
            {
                case JsonTokenType.Null: vote.AddNull(); break;
                case JsonTokenType.True: vote.AddBool(true, line); break;
                case JsonTokenType.False: vote.AddBool(false, line); break;
                case JsonTokenType.Number: vote.AddNumber(System.Text.Encoding.UTF8.GetString(reader.ValueSpan), line); break;
                case JsonTokenType.String: vote.AddText(reader.GetString(), nulls, line); break;
            }
        }
    }

    private static SchemaInference InferParquet(string path, FileSourceOptions options)
    {
        global::Parquet.Schema.ParquetSchema schema;
        long rows;
        try
        {
            using var stream = File.OpenRead(path);
            var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            schema = reader.Schema;
            rows = reader.RowGroups.Sum(g => g.RowCount);
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new BadInputException($"cannot infer a schema: not a readable Parquet file ({ex.Message})", path);
        }
        var columns = ParquetFileReader.SchemaOf(schema).Select(f =>
            options.TypeOverrides.TryGetValue(f.Name, out var t)
                ? new InferredColumn(f.Name, t, 0, 0, null, "declared by override")
                : new InferredColumn(f.Name, f.Type, rows, 0, null, "from the Parquet file's own schema")).ToList();
        return new SchemaInference(path, rows, columns);
    }
}
