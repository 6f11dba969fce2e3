using StreamMl.Images.Preprocessing;

namespace StreamMl.Images.Tests.Preprocessing;

public sealed class PixelKernelsTests
{
    public static TheoryData<int, string> Cases() => new()
    {
        { 1, "imagenet" }, { 7, "imagenet" }, { 9, "bgr" }, { 224 * 224, "imagenet" }, { 224 * 224, "raw" }, { 1001, "bgr" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void VectorKernelMatchesThePlainReference(int pixels, string preset)
    {
        var normalization = preset switch
        {
            "imagenet" => ChannelNormalization.ImageNet,
            "raw" => ChannelNormalization.Raw255,
            _ => new ChannelNormalization { Order = [2, 1, 0], Mean = [103.9f, 116.8f, 123.7f] },
        };
        var rgba = new byte[pixels * 4];
        new Random(pixels).NextBytes(rgba);
        var expected = new float[pixels * 3];
        var actual = new float[pixels * 3];

        PixelKernels.ToPlanesScalar(rgba, expected, normalization);
        PixelKernels.ToPlanes(rgba, actual, normalization);

        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[i])),
                $"value {i}: reference {expected[i]}, kernel {actual[i]}");
    }

    [Fact]
    public void ImageNetNormalisationOfAPixelIsTorchvisionsFormula()
    {
        byte[] rgba = [255, 0, 128, 77];
        var planes = new float[3];
        PixelKernels.ToPlanes(rgba, planes, ChannelNormalization.ImageNet);
        // (x / 255 - mean) / std per channel, RGB order, alpha ignored.
        Assert.Equal((1f - 0.485f) / 0.229f, planes[0], 5);
        Assert.Equal((0f - 0.456f) / 0.224f, planes[1], 5);
        Assert.Equal((128f / 255f - 0.406f) / 0.225f, planes[2], 5);
    }

    [Fact]
    public void KernelAllocatesNothing()
    {
        var rgba = new byte[224 * 224 * 4];
        var planes = new float[224 * 224 * 3];
        var normalization = ChannelNormalization.ImageNet;
        Assert.Equal(0, SteadyState.AllocatedBytes(() => PixelKernels.ToPlanes(rgba, planes, normalization), 20));
    }
}
