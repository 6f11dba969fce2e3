namespace StreamMl.OnnxFormat;

/// <summary>ONNX tensor element types: the numbers the format stores in <see cref="TensorProto.DataType"/> and
/// <see cref="TypeProto.Types.Tensor.ElemType"/>.</summary>
public static class OnnxElementType
{
    /// <summary>32-bit float.</summary>
    public const int Float = 1;

    /// <summary>64-bit signed integer.</summary>
    public const int Int64 = 7;

    /// <summary>Boolean.</summary>
    public const int Bool = 9;
}
