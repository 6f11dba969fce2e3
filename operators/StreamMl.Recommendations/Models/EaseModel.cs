using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace StreamMl.Recommendations.Models;

/// <summary>A fitted EASE item-item weight matrix B (n × n, zero diagonal) over a subset of the catalogue. Immutable
/// once built, so serving reads it while the next one is fitted and then swapped in.</summary>
internal sealed class EaseModel
{
    /// <summary>Score given to catalogue items the model does not cover (new since the refit, or beyond MaxModelItems):
    /// ranked after every covered item but still eligible.</summary>
    public const float NotCovered = -1e30f;

    private EaseModel(int[] items, float[] weights, int catalogItems)
    {
        Items = items;
        Weights = weights;
        ModelIndexByItem = new int[catalogItems];
        ModelIndexByItem.AsSpan().Fill(-1);
        for (var m = 0; m < items.Length; m++) ModelIndexByItem[items[m]] = m;
    }

    /// <summary>Catalogue index of each model row.</summary>
    public int[] Items { get; }

    /// <summary>B, row-major.</summary>
    public float[] Weights { get; }

    /// <summary>Model row of each catalogue index (as of the fit), or -1.</summary>
    public int[] ModelIndexByItem { get; }

    public int Size => Items.Length;

    /// <summary>Fits B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, X the binary user × item matrix of
    /// <paramref name="profiles"/> (catalogue indices) restricted to <paramref name="items"/>. Null when the Gram
    /// matrix is not positive definite (cannot happen for λ &gt; 0 short of float overflow).</summary>
    public static EaseModel? Fit(IReadOnlyList<int[]> profiles, int[] items, int catalogItems, float lambda, CancellationToken cancellation)
    {
        var n = items.Length;
        var modelIndex = new int[catalogItems];
        modelIndex.AsSpan().Fill(-1);
        for (var m = 0; m < n; m++) modelIndex[items[m]] = m;
        var gram = new float[(long)n * n];
        var mapped = new int[64];
        foreach (var profile in profiles)
        {
            var count = 0;
            if (mapped.Length < profile.Length) mapped = new int[profile.Length];
            foreach (var item in profile)
                if (item < catalogItems && modelIndex[item] >= 0) mapped[count++] = modelIndex[item];
            for (var a = 0; a < count; a++)
            {
                var row = gram.AsSpan(mapped[a] * n, n);
                for (var b = 0; b < count; b++) row[mapped[b]] += 1f;
            }
        }
        for (var i = 0; i < n; i++) gram[(long)i * n + i] += lambda;
        if (!SymmetricInverse.TryInvertInPlace(gram, n, cancellation)) return null;
        var inverseDiagonal = new float[n];
        for (var j = 0; j < n; j++) inverseDiagonal[j] = -1f / gram[(long)j * n + j];
        for (var i = 0; i < n; i++)
        {
            var row = gram.AsSpan(i * n, n);
            TensorPrimitives.Multiply(row, inverseDiagonal, row);
            row[i] = 0f;
        }
        return new EaseModel(items, gram, catalogItems);
    }

    /// <summary>Adds Σ weight(j) · B[j] over the profile's covered items into <paramref name="accumulator"/> (length
    /// <see cref="Size"/>), then writes each catalogue item's score into <paramref name="scores"/>.</summary>
    public void Score(ReadOnlySpan<int> profileItems, ReadOnlySpan<float> profileWeights, Span<float> accumulator, Span<float> scores)
    {
        accumulator.Clear();
        var n = Size;
        for (var entry = 0; entry < profileItems.Length; entry++)
        {
            var item = profileItems[entry];
            if (item >= ModelIndexByItem.Length || profileWeights[entry] == 0f) continue;
            var m = ModelIndexByItem[item];
            if (m < 0) continue;
            TensorPrimitives.MultiplyAdd(Weights.AsSpan(m * n, n), profileWeights[entry], accumulator, accumulator);
        }
        scores.Fill(NotCovered);
        for (var m = 0; m < n; m++) scores[Items[m]] = accumulator[m];
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(ModelIndexByItem.Length);
        writer.Write(Items.Length);
        foreach (var item in Items) writer.Write(item);
        writer.Write(MemoryMarshal.AsBytes(Weights.AsSpan()));
    }

    public static EaseModel Read(BinaryReader reader, int catalogItems)
    {
        var fittedOn = reader.ReadInt32();
        var n = reader.ReadInt32();
        if (fittedOn > catalogItems || n > fittedOn) throw new InvalidDataException($"the EASE model covers {n} of {fittedOn} items but the catalogue has {catalogItems}");
        var items = new int[n];
        for (var m = 0; m < n; m++) items[m] = reader.ReadInt32();
        var weights = new float[(long)n * n];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(weights.AsSpan()));
        return new EaseModel(items, weights, fittedOn);
    }
}
