namespace StreamMl.Images.FineTuning;

/// <summary>Augmentation: a random square-ish crop (area <see cref="MinScale"/>..1 of the source, aspect ratio 3/4..4/3)
/// of an RGBA image, resized bilinearly to <c>side × side</c> RGB 0..255 planes, mirrored horizontally half of the time
/// (torchvision's RandomResizedCrop + RandomHorizontalFlip).</summary>
internal sealed class RandomResizedCrop(Random random, double minScale = 0.35)
{
    /// <summary>Smallest fraction of the source area a crop covers.</summary>
    public double MinScale => minScale;

    /// <summary>Writes a random crop of <paramref name="rgba"/> (<paramref name="width"/> × <paramref name="height"/>)
    /// into <paramref name="planes"/> (3 × side × side).</summary>
    public void Apply(ReadOnlySpan<byte> rgba, int width, int height, Span<float> planes, int side)
    {
        double cropW = width, cropH = height;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var area = width * height * (minScale + random.NextDouble() * (1 - minScale));
            var ratio = Math.Exp(Math.Log(3.0 / 4) + random.NextDouble() * (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)));
            var w = Math.Sqrt(area * ratio);
            var h = Math.Sqrt(area / ratio);
            if (w <= width && h <= height)
            {
                (cropW, cropH) = (w, h);
                break;
            }
        }
        var left = random.NextDouble() * (width - cropW);
        var top = random.NextDouble() * (height - cropH);
        var mirror = random.Next(2) == 1;
        Resample(rgba, width, height, left, top, cropW, cropH, mirror, planes, side);
    }

    /// <summary>Bilinear resampling of the crop (<paramref name="left"/>, <paramref name="top"/>, <paramref name="cropW"/>
    /// × <paramref name="cropH"/>) to RGB planes; pixel centres are aligned as in the usual half-pixel convention.</summary>
    internal static void Resample(ReadOnlySpan<byte> rgba, int width, int height, double left, double top, double cropW, double cropH,
        bool mirror, Span<float> planes, int side)
    {
        var plane = side * side;
        for (var y = 0; y < side; y++)
        {
            var sy = Math.Clamp(top + (y + 0.5) * cropH / side - 0.5, 0, height - 1);
            var y0 = (int)sy;
            var y1 = Math.Min(height - 1, y0 + 1);
            var fy = (float)(sy - y0);
            for (var x = 0; x < side; x++)
            {
                var sx = Math.Clamp(left + (x + 0.5) * cropW / side - 0.5, 0, width - 1);
                var x0 = (int)sx;
                var x1 = Math.Min(width - 1, x0 + 1);
                var fx = (float)(sx - x0);
                var target = y * side + (mirror ? side - 1 - x : x);
                for (var c = 0; c < 3; c++)
                {
                    var top0 = rgba[(y0 * width + x0) * 4 + c] * (1 - fx) + rgba[(y0 * width + x1) * 4 + c] * fx;
                    var bottom = rgba[(y1 * width + x0) * 4 + c] * (1 - fx) + rgba[(y1 * width + x1) * 4 + c] * fx;
                    planes[c * plane + target] = top0 * (1 - fy) + bottom * fy;
                }
            }
        }
    }
}
