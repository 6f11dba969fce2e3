namespace StreamMl.Images.Serving;

/// <summary>The k largest values of a row of probabilities, largest first (ties: the lower class index first).</summary>
public static class TopK
{
    /// <summary>Writes the indices of the <paramref name="classes"/>.Length largest values of
    /// <paramref name="values"/> into <paramref name="classes"/>, largest first. Allocates nothing.</summary>
    public static void Select(ReadOnlySpan<float> values, Span<int> classes)
    {
        var k = Math.Min(classes.Length, values.Length);
        for (var slot = 0; slot < k; slot++)
        {
            var best = -1;
            for (var i = 0; i < values.Length; i++)
            {
                if (classes[..slot].Contains(i)) continue;
                if (best < 0 || values[i] > values[best]) best = i;
            }
            classes[slot] = best;
        }
    }
}
