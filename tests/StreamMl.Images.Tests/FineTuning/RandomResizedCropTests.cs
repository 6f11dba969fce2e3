using StreamMl.Images.FineTuning;

namespace StreamMl.Images.Tests.FineTuning;

public sealed class RandomResizedCropTests
{
    // An 8×6 RGBA image whose red is 10·x, green 10·y, blue 7.
    private static byte[] Ramp(int width, int height)
    {
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 4;
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = ((byte)(10 * x), (byte)(10 * y), 7, 255);
            }
        return rgba;
    }

    [Fact]
    public void WholeImageCropAtTheSameSizeIsTheImageAndMirroringReversesColumns()
    {
        var rgba = Ramp(6, 6);
        var planes = new float[3 * 36];
        RandomResizedCrop.Resample(rgba, 6, 6, 0, 0, 6, 6, mirror: false, planes, 6);
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 6; x++)
                Assert.Equal((10f * x, 10f * y, 7f), (planes[y * 6 + x], planes[36 + y * 6 + x], planes[72 + y * 6 + x]));
        RandomResizedCrop.Resample(rgba, 6, 6, 0, 0, 6, 6, mirror: true, planes, 6);
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 6; x++) Assert.Equal(10f * (5 - x), planes[y * 6 + x]);
    }

    [Fact]
    public void RandomCropsStayInsideTheImageAndVary()
    {
        var rgba = Ramp(8, 6);
        var crop = new RandomResizedCrop(new Random(4), minScale: 0.35);
        var planes = new float[3 * 16];
        var means = new HashSet<float>();
        for (var i = 0; i < 20; i++)
        {
            crop.Apply(rgba, 8, 6, planes, 4);
            Assert.All(planes.AsSpan(0, 16).ToArray(), v => Assert.InRange(v, 0f, 70f));   // red: 10·x for x in 0..7
            Assert.All(planes.AsSpan(16, 16).ToArray(), v => Assert.InRange(v, 0f, 50f));  // green: 10·y for y in 0..5
            means.Add(planes.AsSpan(0, 16).ToArray().Average());
        }
        Assert.True(means.Count > 10, "crops should differ");
    }
}
