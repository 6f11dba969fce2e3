namespace StreamMl.Engine;

/// <summary>The physical type of a column. Timestamps are UTC microseconds since the Unix epoch;
/// strings are dictionary-encoded (an int32 code per row plus a per-column dictionary).</summary>
public enum ColumnType : byte
{
    /// <summary>32-bit IEEE float; the type of features and scores.</summary>
    Float32,
    /// <summary>64-bit IEEE float.</summary>
    Float64,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>64-bit signed integer.</summary>
    Int64,
    /// <summary>Boolean, stored as one byte per row (0 or 1) so kernels can vectorise it.</summary>
    Bool,
    /// <summary>UTC timestamp in microseconds since the Unix epoch (Arrow and Parquet micros).</summary>
    Timestamp,
    /// <summary>Dictionary-encoded string: an int32 code per row into the column's <see cref="StringDictionary"/>.</summary>
    String,
    /// <summary>Variable-length bytes (an encoded image, a raw payload): per row an offset and a length into the
    /// column's <see cref="BinaryValues"/> (<see cref="Column.GetBytes"/>, <see cref="Column.SetBytes"/>).</summary>
    Binary,
}

/// <summary>Facts about <see cref="ColumnType"/> values.</summary>
public static class ColumnTypes
{
    /// <summary>Bytes one value takes in a column buffer.</summary>
    public static int SizeOf(ColumnType type) => type switch
    {
        ColumnType.Float32 or ColumnType.Int32 or ColumnType.String => 4,
        ColumnType.Float64 or ColumnType.Int64 or ColumnType.Timestamp or ColumnType.Binary => 8,
        ColumnType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown column type"),
    };

    /// <summary>True for types whose values are numbers (every type except bool, string and binary).</summary>
    public static bool IsNumeric(ColumnType type) => type is not (ColumnType.Bool or ColumnType.String or ColumnType.Binary);

    /// <summary>Parses a type name as written in specs: float32, float, float64, double, int32, int, int64, long, bool, timestamp, string, binary (or bytes).</summary>
    public static ColumnType Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "float32" or "float" or "single" => ColumnType.Float32,
        "float64" or "double" => ColumnType.Float64,
        "int32" or "int" => ColumnType.Int32,
        "int64" or "long" => ColumnType.Int64,
        "bool" or "boolean" => ColumnType.Bool,
        "timestamp" or "datetime" => ColumnType.Timestamp,
        "string" or "category" => ColumnType.String,
        "binary" or "bytes" => ColumnType.Binary,
        _ => throw new SchemaMismatchException(
            $"unknown column type '{name}': use float32, float64, int32, int64, bool, timestamp, string or binary"),
    };

    /// <summary>The name used in specs and reports.</summary>
    public static string Name(ColumnType type) => type.ToString().ToLowerInvariant();
}
