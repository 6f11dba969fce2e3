using System.Runtime.InteropServices;
using SkiaSharp;

namespace StreamMl.Images.Decoding;

/// <summary>Decodes a JPEG or PNG (RGB, grayscale or CMYK; EXIF orientation applied) and draws the centre crop that
/// "resize the shorter side to <see cref="ImageGeometry.ResizeShorterSide"/>, crop <see cref="ImageGeometry.CropSize"/>
/// in the middle" would give, in one resampling step, into a reused RGBA buffer. Not thread-safe: one per thread.</summary>
public sealed class ImageDecoder : IDisposable
{
    private readonly ImageGeometry _geometry;
    private readonly nint _cropPixels;
    private readonly SKSurface _cropSurface;
    private readonly SKPaint _paint = new() { BlendMode = SKBlendMode.Src };
    private nint _decodePixels;
    private int _decodeCapacity;
    private bool _disposed;

    /// <summary>Creates a decoder drawing into a <paramref name="geometry"/>.CropSize square.</summary>
    public unsafe ImageDecoder(ImageGeometry? geometry = null)
    {
        _geometry = geometry ?? ImageGeometry.ImageNet;
        var size = _geometry.CropSize;
        _cropPixels = (nint)NativeMemory.AlignedAlloc((nuint)(size * size * 4), 64);
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        _cropSurface = SKSurface.Create(info, _cropPixels, size * 4)
            ?? throw new InvalidOperationException("Skia could not create a raster surface");
    }

    /// <summary>The crop's geometry.</summary>
    public ImageGeometry Geometry => _geometry;

    /// <summary>The last crop, <c>CropSize × CropSize</c> RGBA pixels (alpha ignored), valid until the next decode.</summary>
    public unsafe ReadOnlySpan<byte> CropRgba => new((byte*)_cropPixels, _geometry.CropSize * _geometry.CropSize * 4);

    /// <summary>Width and height of the last decoded image after EXIF orientation, before cropping.</summary>
    public (int Width, int Height) LastSize { get; private set; }

    /// <summary>Decodes <paramref name="encoded"/> and draws its centre crop into <see cref="CropRgba"/>.</summary>
    public unsafe ImageDecodeStatus Decode(ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (encoded.IsEmpty) return ImageDecodeStatus.Empty;
        fixed (byte* bytes = encoded)
        {
            using var data = SKData.Create((nint)bytes, encoded.Length);
            using var stream = new SKMemoryStream(data);
            using var codec = SKCodec.Create(stream, out var createResult);
            if (codec is null) return WhyNoCodec(encoded, createResult);
            return DecodeAndCrop(codec);
        }
    }

    private unsafe ImageDecodeStatus DecodeAndCrop(SKCodec codec)
    {
        var origin = codec.EncodedOrigin;
        var full = codec.Info;
        var swapsAxes = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        // JPEG decodes at 1/2, 1/4 or 1/8 scale almost for free: take the smallest that keeps the shorter side at or
        // above the resize target, so the resampling below only shrinks by less than 2x.
        var scaled = ScaledSize(codec, Math.Min(full.Width, full.Height));
        var info = new SKImageInfo(scaled.Width, scaled.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        EnsureDecodeCapacity(info.BytesSize);
        var result = codec.GetPixels(info, _decodePixels);
        if (result == SKCodecResult.IncompleteInput) return ImageDecodeStatus.Truncated;
        if (result != SKCodecResult.Success) return ImageDecodeStatus.Corrupt;

        var width = swapsAxes ? info.Height : info.Width;
        var height = swapsAxes ? info.Width : info.Height;
        LastSize = swapsAxes ? (full.Height, full.Width) : (full.Width, full.Height);
        var cropSide = _geometry.CropSize * (float)Math.Min(width, height) / _geometry.ResizeShorterSide;
        var cropX = (width - cropSide) / 2f;
        var cropY = (height - cropSide) / 2f;
        var toCrop = SKMatrix.CreateScale(_geometry.CropSize / cropSide, _geometry.CropSize / cropSide)
            .PreConcat(SKMatrix.CreateTranslation(-cropX, -cropY))
            .PreConcat(Orientation(origin, info.Width, info.Height));

        using var pixmap = new SKPixmap(info, _decodePixels, info.RowBytes);
        using var image = SKImage.FromPixels(pixmap);
        var canvas = _cropSurface.Canvas;
        canvas.Clear(SKColors.Black);
        canvas.SetMatrix(toCrop);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear), _paint);
        canvas.ResetMatrix();
        _cropSurface.Flush();
        return ImageDecodeStatus.Ok;
    }

    // Skia also says "incomplete input" when a few bytes of text are too short to sniff, so the signature decides
    // whether the bytes were an image at all.
    private static ImageDecodeStatus WhyNoCodec(ReadOnlySpan<byte> encoded, SKCodecResult result)
    {
        var isJpeg = encoded.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]);
        var isPng = encoded.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        if (!isJpeg && !isPng) return ImageDecodeStatus.UnknownFormat;
        return result == SKCodecResult.IncompleteInput ? ImageDecodeStatus.Truncated : ImageDecodeStatus.Corrupt;
    }

    private SKSizeI ScaledSize(SKCodec codec, int shorterSide)
    {
        var best = codec.Info.Size;
        foreach (var scale in (ReadOnlySpan<float>)[0.5f, 0.25f, 0.125f])
        {
            if (shorterSide * scale < _geometry.ResizeShorterSide) break;
            var size = codec.GetScaledDimensions(scale);
            if (Math.Min(size.Width, size.Height) < _geometry.ResizeShorterSide) break;
            best = size;
        }
        return best;
    }

    /// <summary>Maps a pixel of the stored image (width × height) to where it shows once the EXIF orientation is applied.</summary>
    internal static SKMatrix Orientation(SKEncodedOrigin origin, int width, int height) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, width, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, width, 0, -1, height, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, height, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, height, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, height, -1, 0, width, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, width, 0, 0, 1),
        _ => SKMatrix.Identity,
    };

    private unsafe void EnsureDecodeCapacity(int bytes)
    {
        if (bytes <= _decodeCapacity) return;
        if (_decodePixels != 0) NativeMemory.AlignedFree((void*)_decodePixels);
        // Grow in steps so a stream of slightly different sizes settles on one buffer.
        _decodeCapacity = Math.Max(bytes, _decodeCapacity * 2);
        _decodePixels = (nint)NativeMemory.AlignedAlloc((nuint)_decodeCapacity, 64);
    }

    /// <inheritdoc/>
    public unsafe void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cropSurface.Dispose();
        _paint.Dispose();
        NativeMemory.AlignedFree((void*)_cropPixels);
        if (_decodePixels != 0) NativeMemory.AlignedFree((void*)_decodePixels);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native buffers if <see cref="Dispose"/> was never called.</summary>
    ~ImageDecoder()
    {
        unsafe
        {
            NativeMemory.AlignedFree((void*)_cropPixels);
            if (_decodePixels != 0) NativeMemory.AlignedFree((void*)_decodePixels);
        }
    }
}
