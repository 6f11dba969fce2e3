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
    /// <summary>Footer key: per source partition the positions held, <c>partition:list;...</c>, each list zigzag
    /// varint deltas in base64 (<see cref="PositionList"/>).</summary>
    internal const string RowsKey = "streamml.rows";

    private readonly Dictionary<int, List<(long First, long Last, long[] Sorted)>> _byPartition = [];
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
        foreach (var (first, last, sorted) in _byPartition[partition])
        {
            if (first > offset) break;
            if (offset > last) continue;
            // A file of an older version (no exact list) holds its whole range.
            if (sorted.Length == 0 || Array.BinarySearch(sorted, offset) >= 0) return true;
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
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !int.TryParse(entry.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)) continue;
            List<long> positions;
            try
            {
                positions = PositionList.Decode(entry[(colon + 1)..]);
            }
            catch (FormatException)
            {
                continue; // a damaged entry holds no row this sink could skip
            }
            if (positions.Count == 0) continue;
            positions.Sort();
            var first = positions[0];
            var last = positions[^1];
            Add(partition, first, last, positions);
        }
    }

    private void Add(int partition, long first, long last, List<long>? sorted)
    {
        if (!_byPartition.TryGetValue(partition, out var list)) _byPartition[partition] = list = [];
        list.Add((first, last, sorted is null ? [] : [.. sorted]));
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

    /// <summary>Formats the positions of one partition held by a file: <c>partition:list</c> (<see cref="PositionList"/>).</summary>
    public static void Format(StringBuilder text, int partition, PositionList positions)
    {
        if (text.Length > 0) text.Append(';');
        text.Append(partition.ToString(CultureInfo.InvariantCulture)).Append(':').Append(positions.ToBase64());
    }
}
