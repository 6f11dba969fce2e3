using System.Buffers.Binary;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the check gzip stores in every member's trailer.
/// Slice-by-8 tables: the verification pass runs it over every decompressed byte, and a byte-at-a-time table was
/// slower than the decompression itself. (System.IO.Hashing has one, but it is not among the host's packages and this
/// is the only use.)</summary>
internal static class Crc32
{
    private static readonly uint[] s_table = BuildTable();

    /// <summary>The state before any byte.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    /// <summary>The CRC of the bytes folded into <paramref name="state"/>.</summary>
    public static uint Final(uint state) => ~state;

    /// <summary>Folds <paramref name="data"/> into <paramref name="state"/>.</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        var table = s_table;
        var crc = state;
        while (data.Length >= 8)
        {
            var one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            var two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = table[(7 * 256) + (one & 0xFF)] ^ table[(6 * 256) + ((one >> 8) & 0xFF)]
                ^ table[(5 * 256) + ((one >> 16) & 0xFF)] ^ table[(4 * 256) + (one >> 24)]
                ^ table[(3 * 256) + (two & 0xFF)] ^ table[(2 * 256) + ((two >> 8) & 0xFF)]
                ^ table[256 + ((two >> 16) & 0xFF)] ^ table[two >> 24];
            data = data[8..];
        }
        foreach (var b in data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        for (var i = 0; i < 256; i++)
            for (var s = 1; s < 8; s++)
                table[(s * 256) + i] = table[((s - 1) * 256) + i] >> 8 ^ table[table[((s - 1) * 256) + i] & 0xFF];
        return table;
    }
}
