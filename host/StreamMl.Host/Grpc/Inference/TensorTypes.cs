using StreamMl.Engine;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>The Open Inference Protocol datatype of each column type: FP32, FP64, INT32, INT64 (timestamps as UTC
/// microseconds since the Unix epoch), BOOL and BYTES (UTF-8 strings).</summary>
internal static class TensorTypes
{
    public const string Fp32 = "FP32";
    public const string Fp64 = "FP64";
    public const string Int32 = "INT32";
    public const string Int64 = "INT64";
    public const string Bool = "BOOL";
    public const string Bytes = "BYTES";

    public static string Of(ColumnType type) => type switch
    {
        ColumnType.Float32 => Fp32,
        ColumnType.Float64 => Fp64,
        ColumnType.Int32 => Int32,
        ColumnType.Int64 or ColumnType.Timestamp => Int64,
        ColumnType.Bool => Bool,
        _ => Bytes,
    };

    /// <summary>Bytes per element in raw contents; 0 for BYTES, whose elements carry their own length.</summary>
    public static int RawSize(string datatype) => datatype switch
    {
        Fp32 or Int32 => 4,
        Fp64 or Int64 => 8,
        Bool => 1,
        _ => 0,
    };
}
