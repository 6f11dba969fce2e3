namespace StreamMl.Images.Decoding;

/// <summary>How an image becomes a square: the shorter side is resized to <see cref="ResizeShorterSide"/> and the
/// centre <see cref="CropSize"/> × <see cref="CropSize"/> is kept (torchvision's <c>Resize(256)</c> +
/// <c>CenterCrop(224)</c>).</summary>
/// <param name="ResizeShorterSide">Shorter side after resizing, in pixels (default 256).</param>
/// <param name="CropSize">Side of the centre crop, in pixels (default 224).</param>
public sealed record ImageGeometry(int ResizeShorterSide = 256, int CropSize = 224)
{
    /// <summary>256 → 224, the ImageNet evaluation geometry ResNet18 expects.</summary>
    public static ImageGeometry ImageNet { get; } = new();

    /// <summary>Floats one image takes as a 3-plane tensor.</summary>
    public int TensorLength => 3 * CropSize * CropSize;
}
