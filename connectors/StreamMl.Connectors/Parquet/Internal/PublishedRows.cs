using System.Globalization;
using System.Text;
using Parquet;

namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>The exact source positions held by the published files of several folders taken together, read from the
/// <see cref="RowsKey"/> footer entry. Used where a row's folder is not a function of the row alone (a stratified split
/// sides a row by the rows seen before it in the same run): a restart then skips a replayed row only when some folder
/// holds it, wherever this run would send it, instead of comparing it with its folder's highest position.</summary>
internal sealed class PublishedRows
{
    /// <summary>Footer key: per source partition the first position and a bitmap of the positions held from it,
    /// <c>partition:first:base64;...</c>.</summary>
    internal const string RowsKey = "streamml.rows";

    private readonly Dictionary<int, List<(long First, long Last, byte[] Bits)>> _byPartition = [];
    private readonly Dictionary<int, long> _highest = [];

    /// <summary>Reads the published files (<c>prefix-*.parquet</c>, Hive folders included) under each folder.</summary>
    public static PublishedRows Load(IEnumerable<string> folders, string prefix)
    {
        var rows = new PublishedRows();
        foreach (var folder in folders.Where(Directory.Exists))
            foreach (var path in Directory.EnumerateFiles(folder, prefix + "-*.parquet", SearchOption.AllDirectories))
                rows.Read(path, prefix);
        foreach (var list in rows._byPartition.Values) list.Sort((a, b) => a.First.CompareTo(b.First));
        return rows;
    }

    /// <summary>True when a published file holds the row at <paramref name="offset"/> of <paramref name="partition"/>.</summary>
    public bool Contains(int partition, long offset)
    {
        if (!_highest.TryGetValue(partition, out var highest) || offset > highest) return false;
        foreach (var (first, last, bits) in _byPartition[partition])
        {
            if (first > offset) break;
            if (offset > last) continue;
            var bit = offset - first;
            if ((bits[bit >> 3] & (1 << (int)(bit & 7))) != 0) return true;
        }
        return false;
    }

    /// <summary>True when a row of <paramref name="partition"/> at or below <paramref name="offset"/> may be held.</summary>
    public bool MayHoldFrom(int partition, long offset) => _highest.TryGetValue(partition, out var highest) && offset <= highest;

    private void Read(string path, string prefix)
    {
        var text = ReadFooter(path);
        if (text is null)
        {
            // A file without the entry (an older version): its name's range counts as held whole, as the rule per folder did.
            if (OutputFile.TryParseRange(Path.GetFileName(path), prefix, out var first, out var last) && first.Partition == last.Partition)
                Add(first.Partition, first.Offset, last.Offset, null);
            return;
        }
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(':');
            if (parts.Length != 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var first)) continue;
            var bits = Convert.FromBase64String(parts[2]);
            if (bits.Length > 0) Add(partition, first, first + bits.Length * 8L - 1, bits);
        }
    }

    private void Add(int partition, long first, long last, byte[]? bits)
    {
        if (bits is null)
        {
            bits = new byte[(last - first) / 8 + 1];
            Array.Fill(bits, (byte)0xFF);
        }
        if (!_byPartition.TryGetValue(partition, out var list)) _byPartition[partition] = list = [];
        list.Add((first, last, bits));
        if (!_highest.TryGetValue(partition, out var highest) || last > highest) _highest[partition] = last;
    }

    private static string? ReadFooter(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            try
            {
                return reader.CustomMetadata.TryGetValue(RowsKey, out var text) ? text : null;
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null; // not a readable Parquet file: it holds no rows this sink could skip
        }
    }

    /// <summary>Formats the positions of one partition held by a file: <c>partition:first:base64</c>, the bitmap's bit i
    /// standing for position first + i. <paramref name="offsets"/> is reordered.</summary>
    public static void Format(StringBuilder text, int partition, List<long> offsets)
    {
        offsets.Sort();
        var first = offsets[0];
        var bytes = new byte[(offsets[^1] - first) / 8 + 1];
        foreach (var offset in offsets) bytes[(offset - first) >> 3] |= (byte)(1 << (int)((offset - first) & 7));
        if (text.Length > 0) text.Append(';');
        text.Append(CultureInfo.InvariantCulture, $"{partition}:{first}:").Append(Convert.ToBase64String(bytes));
    }
}
