using System.Buffers.Binary;
using System.Text;
using StreamMl.Host.Registry;

namespace StreamMl.Host.Training;

/// <summary>64-bit hashes of table rows over named columns (numbers by their float64 value, text by its UTF-8 bytes,
/// missing as a marker), and the bounded sample of the training rows' hashes kept with a model version
/// (<see cref="RowSample"/>), so <c>evaluate</c> can tell how many of the rows it scores the model was fitted on.</summary>
internal static class TrainingRowHashes
{
    /// <summary>The file name of the sample in a version folder.</summary>
    public const string FileName = "training-rows.bin";

    /// <summary>The sample of <paramref name="rows"/>' hashes and its bytes.</summary>
    public static (RowSample Sample, byte[] Bytes) Build(DataTable table, IReadOnlyList<string> columns, IReadOnlyList<int> rows)
    {
        var hashes = Hashes(table, columns, rows);
        Array.Sort(hashes);
        var distinct = hashes.Distinct().ToArray();
        var kept = distinct.Length <= RowSample.Capacity ? distinct : distinct[..RowSample.Capacity];
        var cutoff = distinct.Length <= RowSample.Capacity ? ulong.MaxValue : kept[^1];
        var bytes = new byte[kept.Length * sizeof(ulong)];
        for (var i = 0; i < kept.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * sizeof(ulong)), kept[i]);
        return (new RowSample { File = FileName, Columns = [.. columns], Rows = rows.Count, Count = kept.Length, Cutoff = cutoff }, bytes);
    }

    /// <summary>How many of <paramref name="rows"/> are training rows: (rows under the sample's cutoff, of those found
    /// in the sample). Exact when the sample holds every training row (cutoff = max).</summary>
    public static (int Sampled, int Found) Overlap(RowSample sample, byte[] bytes, DataTable table, IReadOnlyList<int> rows)
    {
        var kept = new ulong[bytes.Length / sizeof(ulong)];
        for (var i = 0; i < kept.Length; i++) kept[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * sizeof(ulong)));
        int sampled = 0, found = 0;
        foreach (var hash in Hashes(table, sample.Columns, rows))
        {
            if (hash > sample.Cutoff) continue;
            sampled++;
            if (Array.BinarySearch(kept, hash) >= 0) found++;
        }
        return (sampled, found);
    }

    /// <summary>The hash of each row over the columns (each column must exist in the table).</summary>
    public static ulong[] Hashes(DataTable table, IReadOnlyList<string> columns, IReadOnlyList<int> rows)
    {
        var resolved = columns.Select(c => table.Require(c, "model input")).ToArray();
        var hashes = new ulong[rows.Count];
        Span<byte> number = stackalloc byte[8];
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var hash = 14695981039346656037UL; // FNV-1a 64 offset basis
            foreach (var column in resolved)
            {
                if (column.IsNumeric)
                {
                    var value = column.Numbers![r];
                    // One bit pattern per value: every NaN (missing) alike, -0 as 0.
                    var bits = double.IsNaN(value) ? 0x7FF8_0000_0000_0000UL : BitConverter.DoubleToUInt64Bits(value == 0 ? 0.0 : value);
                    BinaryPrimitives.WriteUInt64LittleEndian(number, bits);
                    hash = Fnv(hash, number);
                    hash = Fnv(hash, [1]);
                }
                else if (column.Texts![r] is { } text)
                {
                    hash = Fnv(hash, Encoding.UTF8.GetBytes(text));
                    hash = Fnv(hash, [2]);
                }
                else
                {
                    hash = Fnv(hash, [3]);
                }
            }
            hashes[i] = Mix(hash);
        }
        return hashes;
    }

    private static ulong Fnv(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes) hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }

    // splitmix64's finaliser: spreads FNV's output over all 64 bits, so the smallest hashes are a uniform sample.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
