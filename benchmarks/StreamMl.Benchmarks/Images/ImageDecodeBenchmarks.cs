using BenchmarkDotNet.Attributes;
using SkiaSharp;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Benchmarks.Images;

/// <summary>Decode + resize/centre-crop + normalise of 20 caltech20 JPEGs (one per class), per image: StreamMl's path
/// (JPEG scaled decode, one resampling into the crop, SIMD planes) against SkiaSharp's own resize path (full decode,
/// SKBitmap.Resize to shorter side 256, crop 224, the same normalisation kernel).</summary>
[MemoryDiagnoser]
public class ImageDecodeBenchmarks
{
    private byte[][] _images = [];
    private readonly float[] _tensor = new float[3 * 224 * 224];
    private readonly byte[] _crop = new byte[224 * 224 * 4];
    private ImagePreprocessor _preprocessor = null!;

    [GlobalSetup]
    public void Setup()
    {
        var root = Path.Combine(StreamMl.Benchmarks.Harness.HarnessProgram.RepositoryRoot(), "..", "shared", "data", "caltech20");
        var folder = ImageFolder.Open(root);
        _images = [.. folder.Images.GroupBy(i => i.Label).Select(g => File.ReadAllBytes(g.First().Path))];
        _preprocessor = new ImagePreprocessor(normalization: ChannelNormalization.ImageNet);
    }

    [GlobalCleanup]
    public void Cleanup() => _preprocessor.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = 20)]
    public void SkiaResizeThenCrop()
    {
        foreach (var bytes in _images)
        {
            using var decoded = SKBitmap.Decode(bytes);
            var scale = 256f / Math.Min(decoded.Width, decoded.Height);
            var info = new SKImageInfo((int)Math.Round(decoded.Width * scale), (int)Math.Round(decoded.Height * scale), SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var resized = decoded.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            var x0 = (resized.Width - 224) / 2;
            var y0 = (resized.Height - 224) / 2;
            var pixels = resized.GetPixelSpan();
            for (var y = 0; y < 224; y++)
                pixels.Slice(((y0 + y) * resized.Width + x0) * 4, 224 * 4).CopyTo(_crop.AsSpan(y * 224 * 4));
            PixelKernels.ToPlanes(_crop, _tensor, ChannelNormalization.ImageNet);
        }
    }

    [Benchmark(OperationsPerInvoke = 20)]
    public void StreamMlCropInOneResampling()
    {
        foreach (var bytes in _images) _preprocessor.Preprocess(bytes, _tensor);
    }

    [Benchmark(OperationsPerInvoke = 20)]
    public void NormaliseOnlyVector() => Normalise(vector: true);

    [Benchmark(OperationsPerInvoke = 20)]
    public void NormaliseOnlyScalar() => Normalise(vector: false);

    private void Normalise(bool vector)
    {
        for (var i = 0; i < 20; i++)
        {
            if (vector) PixelKernels.ToPlanes(_crop, _tensor, ChannelNormalization.ImageNet);
            else PixelKernels.ToPlanesScalar(_crop, _tensor, ChannelNormalization.ImageNet);
        }
    }
}
