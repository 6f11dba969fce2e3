using StreamMl.Images.Decoding;

namespace StreamMl.Images.Preprocessing;

/// <summary>Encoded image bytes in, one normalised NCHW tensor slot out: decode, orient, resize + centre-crop (one
/// resampling), normalise. After decoding nothing is allocated per image: the crop buffer and the tensor are reused
/// (ImagePreprocessorTests.PreprocessingAllocatesNothingAfterDecoding). Not thread-safe: one per thread.</summary>
public sealed class ImagePreprocessor(ImageGeometry? geometry = null, ChannelNormalization? normalization = null) : IDisposable
{
    private readonly ImageDecoder _decoder = new(geometry);

    /// <summary>The crop geometry.</summary>
    public ImageGeometry Geometry => _decoder.Geometry;

    /// <summary>The normalisation applied to the crop.</summary>
    public ChannelNormalization Normalization { get; } = normalization ?? ChannelNormalization.Raw255;

    /// <summary>Decodes <paramref name="encoded"/> and writes its tensor (3 × crop × crop floats) into
    /// <paramref name="tensor"/>; on failure the tensor is left as it was and the status says why.</summary>
    public ImageDecodeStatus Preprocess(ReadOnlySpan<byte> encoded, Span<float> tensor)
    {
        var status = _decoder.Decode(encoded);
        if (status == ImageDecodeStatus.Ok) Normalize(tensor);
        return status;
    }

    /// <summary>Normalises the last decoded crop into <paramref name="tensor"/> (the step that follows decoding).</summary>
    public void Normalize(Span<float> tensor) => PixelKernels.ToPlanes(_decoder.CropRgba, tensor, Normalization);

    /// <summary>The last decoded crop as RGBA bytes.</summary>
    public ReadOnlySpan<byte> CropRgba => _decoder.CropRgba;

    /// <inheritdoc/>
    public void Dispose() => _decoder.Dispose();
}
