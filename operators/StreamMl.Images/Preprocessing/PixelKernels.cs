using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StreamMl.Images.Preprocessing;

/// <summary>Turns interleaved RGBA bytes into three normalised float planes (NCHW), the layout ONNX vision models take.</summary>
public static class PixelKernels
{
    /// <summary>Writes <paramref name="rgba"/>'s pixels (4 bytes each, alpha ignored) into <paramref name="planes"/>
    /// (3 planes of pixel-count floats) normalised by <paramref name="normalization"/>. Vectorised with
    /// <see cref="Vector256"/> when the hardware has it; <see cref="ToPlanesScalar"/> is the reference.</summary>
    public static void ToPlanes(ReadOnlySpan<byte> rgba, Span<float> planes, ChannelNormalization normalization)
    {
        var pixels = rgba.Length / 4;
        if (planes.Length < pixels * 3)
            throw new ArgumentException($"the tensor holds {planes.Length} floats; {pixels} pixels need {pixels * 3}", nameof(planes));
        var (s0, o0) = normalization.Affine(0);
        var (s1, o1) = normalization.Affine(1);
        var (s2, o2) = normalization.Affine(2);
        var order = normalization.Order;
        var done = Vector256.IsHardwareAccelerated
            ? ToPlanesVector(MemoryMarshal.Cast<byte, uint>(rgba[..(pixels * 4)]), planes, pixels,
                order[0] * 8, order[1] * 8, order[2] * 8, s0, o0, s1, o1, s2, o2)
            : 0;
        ToPlanesTail(rgba, planes, pixels, done, order, s0, o0, s1, o1, s2, o2);
    }

    /// <summary>The plain reference: one pixel and one channel at a time.</summary>
    public static void ToPlanesScalar(ReadOnlySpan<byte> rgba, Span<float> planes, ChannelNormalization normalization)
    {
        var pixels = rgba.Length / 4;
        for (var plane = 0; plane < 3; plane++)
        {
            var channel = normalization.Order[plane];
            for (var i = 0; i < pixels; i++)
            {
                var unit = rgba[i * 4 + channel] / 255f * normalization.Range;
                planes[plane * pixels + i] = (unit - normalization.Mean[plane]) / normalization.Std[plane];
            }
        }
    }

    // Eight pixels are one Vector256<uint>; a channel is a byte lane of each: shift, mask, convert, one fused
    // multiply-add, one store per plane.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ToPlanesVector(ReadOnlySpan<uint> pixelWords, Span<float> planes, int pixels,
        int shift0, int shift1, int shift2, float s0, float o0, float s1, float o1, float s2, float o2)
    {
        var mask = Vector256.Create(0xFFu);
        var scale0 = Vector256.Create(s0); var offset0 = Vector256.Create(o0);
        var scale1 = Vector256.Create(s1); var offset1 = Vector256.Create(o1);
        var scale2 = Vector256.Create(s2); var offset2 = Vector256.Create(o2);
        ref var source = ref MemoryMarshal.GetReference(pixelWords);
        ref var plane0 = ref MemoryMarshal.GetReference(planes);
        ref var plane1 = ref Unsafe.Add(ref plane0, pixels);
        ref var plane2 = ref Unsafe.Add(ref plane0, 2 * pixels);
        var i = 0;
        for (; i <= pixels - Vector256<uint>.Count; i += Vector256<uint>.Count)
        {
            var words = Vector256.LoadUnsafe(ref source, (nuint)i);
            Vector256.FusedMultiplyAdd(Channel(words, shift0, mask), scale0, offset0).StoreUnsafe(ref plane0, (nuint)i);
            Vector256.FusedMultiplyAdd(Channel(words, shift1, mask), scale1, offset1).StoreUnsafe(ref plane1, (nuint)i);
            Vector256.FusedMultiplyAdd(Channel(words, shift2, mask), scale2, offset2).StoreUnsafe(ref plane2, (nuint)i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Channel(Vector256<uint> words, int shift, Vector256<uint> mask) =>
        Vector256.ConvertToSingle((Vector256.ShiftRightLogical(words, shift) & mask).AsInt32());

    private static void ToPlanesTail(ReadOnlySpan<byte> rgba, Span<float> planes, int pixels, int from, int[] order,
        float s0, float o0, float s1, float o1, float s2, float o2)
    {
        for (var i = from; i < pixels; i++)
        {
            planes[i] = MathF.FusedMultiplyAdd(rgba[i * 4 + order[0]], s0, o0);
            planes[pixels + i] = MathF.FusedMultiplyAdd(rgba[i * 4 + order[1]], s1, o1);
            planes[2 * pixels + i] = MathF.FusedMultiplyAdd(rgba[i * 4 + order[2]], s2, o2);
        }
    }
}
