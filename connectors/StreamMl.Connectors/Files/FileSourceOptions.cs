using Microsoft.Extensions.Logging;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files;

/// <summary>What a <see cref="FileSource"/> reads and how. Every default is documented on its property.</summary>
public sealed class FileSourceOptions
{
    /// <summary>Inputs: file paths, folders (every file in them whose format is known) and glob patterns such as
    /// <c>data/*.csv</c> or <c>logs/**/*.jsonl.gz</c>. Files are read in the order given; a folder or glob expands
    /// to its files sorted by name. Required.</summary>
    public IList<string> Paths { get; } = [];

    /// <summary>Format of every input. Default <see cref="FileFormat.Auto"/>: chosen per file from its name.</summary>
    public FileFormat Format { get; set; } = FileFormat.Auto;

    /// <summary>The columns to read. Default null: inferred from the first <see cref="InferenceSampleRows"/> rows of
    /// the first file (see <see cref="FileSource.Inference"/>). A declared column missing from a file is null there.</summary>
    public Schema? Schema { get; set; }

    /// <summary>Rows sampled to infer the schema when none is declared. Default 10,000.</summary>
    public int InferenceSampleRows { get; set; } = 10_000;

    /// <summary>Share of a column's sampled non-null values that must be of one kind (numbers, true/false, date-times)
    /// for inference to choose that type; below it the column is a string. The other values are listed with their
    /// line in <see cref="FileSource.Inference"/>, and their rows are dead-lettered (rule <c>type</c>) when read.
    /// Default 0.99: one <c>abc</c> among 2,000 numbers leaves the column numeric. 1 requires every value to fit; outside
    /// 0.5..1 (or NaN) inferring throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    public double InferenceThreshold { get; set; } = 0.99;

    /// <summary>Remove white space around every string value (quoted or not), and compare string values with the null
    /// tokens after trimming. Default false: text is kept exactly as in the file, as DuckDB and pandas keep it.
    /// Numbers, booleans and date-times parse with spaces around them either way.</summary>
    public bool Trim { get; set; }

    /// <summary>Column types that override the inferred ones, by column name (e.g. read a zip code as string). Default empty.</summary>
    public IDictionary<string, ColumnType> TypeOverrides { get; } = new Dictionary<string, ColumnType>(StringComparer.Ordinal);

    /// <summary>CSV field separator. Default null: detected by Sep from the header (comma, semicolon, tab, pipe).</summary>
    public char? Delimiter { get; set; }

    /// <summary>Threads that parse a plain (not gzip) CSV file of at least 4 MiB, besides the source's own thread,
    /// which only hands the parsed rows on: the file is cut at line breaks into chunks of a batch's worth of lines,
    /// parsed side by side and handed on in file order with the same rows, line numbers, positions and dead letters as
    /// one thread gives. From the first chunk where a record spans lines (a quoted line break, a quote never closed) or
    /// a lone carriage return ends a line, the rest of the file is parsed on the source's thread. Followed files
    /// (<see cref="Watch"/>) are parsed on the source's thread. 1 (or less) parses every file on the source's thread.
    /// Default <see cref="DefaultCsvParseThreads"/>: 2 on machines of 4 or more cores, 1 below (on 2 cores the source
    /// alone reads 1.42× faster with 2 threads, but a pipeline whose later stages keep the second core busy, harness
    /// S6, ran slower: docs/BENCHMARKS.md, "Parallel CSV parsing").</summary>
    public int CsvParseThreads { get; set; } = DefaultCsvParseThreads;

    /// <summary>2 on machines of 4 or more cores, else 1 (see <see cref="CsvParseThreads"/>).</summary>
    public static int DefaultCsvParseThreads => Environment.ProcessorCount >= 4 ? 2 : 1;

    /// <summary>A plain CSV file parsed on the source's thread is read from its bytes, fields split and numbers parsed
    /// in one pass, with the Sep reader's results (see ByteCsvFileReader). Default true; tests turn it off to compare
    /// with the Sep reader.</summary>
    internal bool CsvFromBytes { get; set; } = true;

    /// <summary>The smallest file parsed by <see cref="CsvParseThreads"/> threads: 4 MiB; tests make it 0.</summary>
    internal long ParallelCsvMinBytes { get; set; } = 4L << 20;

    /// <summary>Text read as null in CSV fields and JSON strings. In numeric, boolean and date-time columns it is
    /// compared after trimming white space, and a field of only white space is null; in string columns the text must
    /// match exactly (unless <see cref="Trim"/>), so <c>"  "</c> stays text, as in DuckDB.
    /// Default: empty, <c>na</c>, <c>NA</c>, <c>N/A</c>, <c>n/a</c>, <c>NaN</c>, <c>nan</c>, <c>null</c>, <c>NULL</c>, <c>None</c>.</summary>
    public IList<string> NullTokens { get; } = ["", "na", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None"];

    /// <summary>For JSON Lines: column name to the dotted path of the value in each object (<c>user.address.city</c>).
    /// Default empty: a column's path is its name (inferred columns are named by their path).</summary>
    public IDictionary<string, string> JsonPaths { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Timestamp column that gives each row its event time. Default null: rows get the time they were read.
    /// With it, every batch carries a watermark: the newest event time read so far less <see cref="WatermarkDelay"/>,
    /// so event-time windows downstream close as the files are read (and as watched files grow), not only at the end.</summary>
    public string? EventTimeColumn { get; set; }

    /// <summary>How far behind the newest event time the watermark stays, for rows slightly out of order. Default zero:
    /// a file is read in order, so a row older than one already read is late. Files are read one after the other, so
    /// when several files cover the same period, the rows of the later files fall behind the watermark the earlier ones
    /// set (they are counted late by windowed operators); per-row detectors keyed by <see cref="SourceFileColumn"/> are
    /// not affected.</summary>
    public TimeSpan WatermarkDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Name of an extra string column holding the full path of the file each row came from, so that several
    /// series read by one source can be told apart (keyed detectors, partitions). Default null: no such column. It
    /// must not be the name of a column of the files.</summary>
    public string? SourceFileColumn { get; set; }

    /// <summary>Keep watching the folders of <see cref="Paths"/> after the existing files are read: the source never
    /// ends by itself. Plain CSV and JSON Lines files are followed as they grow, like Filebeat or Vector: only whole
    /// lines are read (a last line without its line break waits for it), a file is known by a fingerprint of its first
    /// 1 KiB so a rotation (rename, then a new file under the old name) is followed under the new name and the new file
    /// read from its start, and a file that shrinks (truncation) is read again from its start as a new file, with a
    /// warning in the log. Gzip and Parquet files are read whole once their size and write time stop changing between
    /// two polls. Default false.</summary>
    public bool Watch { get; set; }

    /// <summary>The most bytes of a followed file read in one piece (a piece ends on a line break; a commit past a
    /// piece's end becomes its byte checkpoint). 64 MiB; tests make it small.</summary>
    internal long FollowPieceBytes { get; set; } = 64L << 20;

    /// <summary>How often a watched folder is listed. Default 1 second.</summary>
    public TimeSpan WatchInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A JSON file where the source records what every sink has made durable: the files read to the end and
    /// the next offset (line, or row for Parquet) of the others. It is replaced atomically at every commit. When it
    /// exists at start, finished files are not read again, a file read part way resumes after its last committed
    /// record, and files keep the partition numbers they had (new files are numbered after them), so sinks that name
    /// their output by source position overwrite their own output on a replay. Rows after the last commit are read
    /// again (at least once). Default null: positions are committed in memory only.</summary>
    public string? CheckpointPath { get; set; }

    /// <summary>Where the source logs what it notices: schema changes a file brings (see
    /// <see cref="FileSource.SchemaChanges"/>) and, in watch mode, rotation and truncation. Default null: no log.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Name in counters and dead letters. Default "files".</summary>
    public string Name { get; set; } = "files";
}
