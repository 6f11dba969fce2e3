namespace StreamMl.Connectors.Parquet;

/// <summary>Compression codec of Parquet column chunks.</summary>
public enum ParquetCompression
{
    /// <summary>No compression.</summary>
    None,
    /// <summary>Snappy: the usual default of Parquet writers, and the default here. With integer columns delta-encoded
    /// first it was the fastest widely readable codec on the credit file (25 long columns: 9 ms / 1.11 MB, against
    /// gzip 15 ms / 1.13 MB and zstd 13 ms / 1.08 MB; docs/BENCHMARKS.md).</summary>
    Snappy,
    /// <summary>Zstandard: better ratio, somewhat slower to write.</summary>
    Zstd,
    /// <summary>Gzip at its fastest level (.NET's native zlib). Before integer columns were delta-encoded it beat
    /// Parquet.Net's snappy on plain-encoded longs; with delta encoding it is the slowest codec here.</summary>
    Gzip,
    /// <summary>LZ4 (the raw block format Parquet calls LZ4_RAW): fast, moderate ratio; not every reader supports it.</summary>
    Lz4,
}

/// <summary>Where and how a <see cref="ParquetSink"/> writes. Every default is documented on its property.</summary>
public sealed class ParquetSinkOptions
{
    /// <summary>Output folder; created when missing. Required.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Start of every file name. Default "part".</summary>
    public string FilePrefix { get; set; } = "part";

    /// <summary>Rows per row group. Default 16,384 (<see cref="DefaultRowGroupRows"/>).</summary>
    public int RowGroupRows { get; set; } = DefaultRowGroupRows;

    /// <summary>The default of <see cref="RowGroupRows"/>: 16,384 rows. Parquet.Net writes a row group in one piece, so
    /// the sink encodes a group on its own thread while the source parses the next; with 65,536 rows a file of that
    /// size or less was encoded only after the source had finished. On the credit file the whole pipeline took 16.6 ms
    /// (median) against 18.3 ms with 65,536 rows (docs/BENCHMARKS.md). Groups of this size stay large enough for
    /// compression and scans (DuckDB reads row groups in parallel); raise it for very narrow tables.</summary>
    public const int DefaultRowGroupRows = 16_384;

    /// <summary>Codec. Default <see cref="ParquetCompression.Snappy"/>, the codec every Parquet reader supports, and the
    /// fastest of them after delta encoding of integer columns (see <see cref="ParquetCompression.Snappy"/>).</summary>
    public ParquetCompression Compression { get; set; } = ParquetCompression.Snappy;

    /// <summary>Start a new file after this many rows; 0 for no limit. Default 0.</summary>
    public long RollRows { get; set; }

    /// <summary>Start a new file once a file reaches this many bytes (checked after each row group); 0 for no limit.
    /// Default 512 MiB.</summary>
    public long RollBytes { get; set; } = 512L << 20;

    /// <summary>Start a new file when the open one is older than this (checked on writes and on the pipeline's periodic
    /// flush); zero for no limit. Default zero (streaming specs default to 10 s, so checkpoints advance while they run).</summary>
    public TimeSpan RollInterval { get; set; }

    /// <summary>Publish every open file at each pipeline flush (<c>PipelineOptions.FlushInterval</c>), so rows become
    /// durable and their positions committed at that pace. Default false: files are cut only by rows, bytes, age and
    /// at the end (fewer, larger files). Either way a restart keeps every published row once (the replay rule on
    /// <see cref="ParquetSink"/>), so file boundaries may depend on timing.</summary>
    public bool PublishOnFlush { get; set; }

    /// <summary>Hive-style partition folders by the value of this column (<c>dir/column=value/part-....parquet</c>);
    /// nulls go to <c>column=__HIVE_DEFAULT_PARTITION__</c>. Default null: no partition folders.</summary>
    public string? PartitionBy { get; set; }

    /// <summary>Partition by the UTC date of each row's event time (<c>dir/date=2024-01-31/...</c>), or, when
    /// <see cref="PartitionDateColumn"/> is set, of that timestamp column. Default false.</summary>
    public bool PartitionByEventDate { get; set; }

    /// <summary>Timestamp column whose date names the partition when <see cref="PartitionByEventDate"/> is set.
    /// Default null: the rows' event times.</summary>
    public string? PartitionDateColumn { get; set; }

    /// <summary>Columns to write, in this order. Default empty: every column of the pipeline's batches.</summary>
    public IList<string> Columns { get; } = [];

    /// <summary>Columns not to write (applied after <see cref="Columns"/>). Default empty.</summary>
    public ISet<string> ExcludeColumns { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Name in counters and logs. Default "parquet".</summary>
    public string Name { get; set; } = "parquet";
}
