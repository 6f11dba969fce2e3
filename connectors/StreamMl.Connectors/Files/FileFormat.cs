namespace StreamMl.Connectors.Files;

/// <summary>The format of an input file.</summary>
public enum FileFormat
{
    /// <summary>Chosen from the file name: <c>.csv</c>, <c>.tsv</c>, <c>.txt</c> (optionally <c>.gz</c>) are CSV,
    /// <c>.jsonl</c>/<c>.ndjson</c>/<c>.json</c> (optionally <c>.gz</c>) are JSON Lines, <c>.parquet</c> is Parquet.</summary>
    Auto,
    /// <summary>Delimited text with a header row, read with Sep.</summary>
    Csv,
    /// <summary>One JSON object per line, read with <see cref="System.Text.Json.Utf8JsonReader"/>.</summary>
    JsonLines,
    /// <summary>Apache Parquet, read with Parquet.Net.</summary>
    Parquet,
}
