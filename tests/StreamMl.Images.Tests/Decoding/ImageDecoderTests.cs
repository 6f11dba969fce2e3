using SkiaSharp;
using StreamMl.Images.Decoding;
using StreamMl.Images.Preprocessing;

namespace StreamMl.Images.Tests.Decoding;

public sealed class ImageDecoderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    // A smooth image whose value at any point is known: red grows with x, green with y, blue is constant.
    private static byte[] GradientPng(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor(Red(x + 0.5, width), Green(y + 0.5, height), 60));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte Red(double x, int width) => (byte)Math.Round(20 + 200 * x / width);
    private static byte Green(double y, int height) => (byte)Math.Round(10 + 230 * y / height);

    [Theory]
    [InlineData(400, 300)]
    [InlineData(300, 500)]
    [InlineData(256, 256)]
    [InlineData(120, 90)]
    public void CropIsTheCentreOfTheImageResizedToShorterSide256(int width, int height)
    {
        using var decoder = new ImageDecoder();
        Assert.Equal(ImageDecodeStatus.Ok, decoder.Decode(GradientPng(width, height)));

        // Plain reference: crop pixel (i, j) samples the source at its centre mapped back through crop and resize.
        var shorter = Math.Min(width, height);
        var side = 224.0 * shorter / 256;
        var x0 = (width - side) / 2;
        var y0 = (height - side) / 2;
        var crop = decoder.CropRgba;
        double worst = 0;
        for (var j = 2; j < 222; j += 11)
            for (var i = 2; i < 222; i += 11)
            {
                var sx = x0 + (i + 0.5) * side / 224;
                var sy = y0 + (j + 0.5) * side / 224;
                var p = (j * 224 + i) * 4;
                worst = Math.Max(worst, Math.Abs(crop[p] - (20 + 200 * sx / width)));
                worst = Math.Max(worst, Math.Abs(crop[p + 1] - (10 + 230 * sy / height)));
                worst = Math.Max(worst, Math.Abs(crop[p + 2] - 60));
            }
        Assert.True(worst <= 3, $"largest difference from the reference: {worst} levels");
    }

    [Fact]
    public void ExifOrientationSixIsRotatedClockwise()
    {
        // Stored 64x32, left half red and right half blue, EXIF orientation 6: shown 32x64 with red on top.
        using var decoder = new ImageDecoder();
        Assert.Equal(ImageDecodeStatus.Ok, decoder.Decode(File.ReadAllBytes(Fixture("left-red-right-blue-exif6.jpg"))));
        Assert.Equal((32, 64), decoder.LastSize);
        // The crop is the centre square of the 32x64 image: its upper part is red and its lower part blue.
        var crop = decoder.CropRgba;
        var top = (20 * 224 + 112) * 4;
        var bottom = (200 * 224 + 112) * 4;
        Assert.True(crop[top] > 180 && crop[top + 2] < 70, $"top pixel {crop[top]},{crop[top + 1]},{crop[top + 2]} is not red");
        Assert.True(crop[bottom + 2] > 180 && crop[bottom] < 70, $"bottom pixel {crop[bottom]},{crop[bottom + 1]},{crop[bottom + 2]} is not blue");
    }

    [Fact]
    public void GrayscaleJpegBecomesThreeEqualChannels()
    {
        using var decoder = new ImageDecoder();
        Assert.Equal(ImageDecodeStatus.Ok, decoder.Decode(File.ReadAllBytes(Fixture("gray-left-light.jpg"))));
        var crop = decoder.CropRgba;
        var left = (112 * 224 + 10) * 4;
        var right = (112 * 224 + 214) * 4;
        Assert.InRange(crop[left], 235, 255);
        Assert.InRange(crop[right], 115, 140);
        for (var p = 0; p < crop.Length; p += 4 * 97)
        {
            Assert.Equal(crop[p], crop[p + 1]);
            Assert.Equal(crop[p], crop[p + 2]);
        }
    }

    [Fact]
    public void CmykJpegIsConvertedToRgb()
    {
        // Pillow wrote rgb(220, 30, 40) as CMYK; the colour comes back within JPEG's loss.
        using var decoder = new ImageDecoder();
        Assert.Equal(ImageDecodeStatus.Ok, decoder.Decode(File.ReadAllBytes(Fixture("red-cmyk.jpg"))));
        var centre = (112 * 224 + 112) * 4;
        var crop = decoder.CropRgba;
        Assert.InRange(crop[centre], 200, 240);
        Assert.InRange(crop[centre + 1], 10, 50);
        Assert.InRange(crop[centre + 2], 20, 60);
    }

    [Fact]
    public void TruncatedJpegTextAndEmptyInputAreReported()
    {
        var jpeg = File.ReadAllBytes(SharedData.File("caltech20", "airplanes", "IMG_1038.jpg"));
        using var decoder = new ImageDecoder();
        Assert.Equal(ImageDecodeStatus.Truncated, decoder.Decode(jpeg.AsSpan(0, jpeg.Length / 2)));
        Assert.Equal(ImageDecodeStatus.UnknownFormat, decoder.Decode("this is not a png\n"u8));
        Assert.Equal(ImageDecodeStatus.Empty, decoder.Decode([]));
        Assert.Equal(ImageDecodeStatus.Ok, decoder.Decode(jpeg));
    }

    [Fact]
    public void PreprocessingAllocatesNothingAfterDecoding()
    {
        using var preprocessor = new ImagePreprocessor(normalization: ChannelNormalization.ImageNet);
        var tensor = new float[ImageGeometry.ImageNet.TensorLength];
        Assert.Equal(ImageDecodeStatus.Ok, preprocessor.Preprocess(GradientPng(300, 200), tensor));
        Assert.Equal(0, SteadyState.AllocatedBytes(() => preprocessor.Normalize(tensor), 20));
    }
}
