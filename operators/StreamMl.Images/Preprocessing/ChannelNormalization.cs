namespace StreamMl.Images.Preprocessing;

/// <summary>How 8-bit RGB pixels become the floats a network expects: plane <c>p</c> holds source channel
/// <see cref="Order"/>[p], as <c>(value / 255 · <see cref="Range"/> − mean) / std</c>.</summary>
public sealed record ChannelNormalization
{
    /// <summary>torchvision's ImageNet normalisation: RGB planes, values in [0, 1], mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225).</summary>
    public static ChannelNormalization ImageNet { get; } = new()
    {
        Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f], Range = 1f,
    };

    /// <summary>RGB planes with values 0..255 and nothing subtracted: the input of the packaged ResNet18's own
    /// preprocessing graph (which swaps to BGR and subtracts its mean image; see docs/images.md).</summary>
    public static ChannelNormalization Raw255 { get; } = new();

    /// <summary>Source channel of each output plane, 0 = red, 1 = green, 2 = blue (default RGB: 0, 1, 2).</summary>
    public int[] Order { get; init; } = [0, 1, 2];

    /// <summary>Value of a 255 pixel before the mean is subtracted (default 255).</summary>
    public float Range { get; init; } = 255f;

    /// <summary>Mean subtracted from each plane, in plane order (default 0).</summary>
    public float[] Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Divisor of each plane, in plane order (default 1).</summary>
    public float[] Std { get; init; } = [1f, 1f, 1f];

    /// <summary>Each plane's value as <c>pixel · Scale[p] + Offset[p]</c>, the form the kernel computes.</summary>
    internal (float Scale, float Offset) Affine(int plane) =>
        (Range / 255f / Std[plane], -Mean[plane] / Std[plane]);
}
