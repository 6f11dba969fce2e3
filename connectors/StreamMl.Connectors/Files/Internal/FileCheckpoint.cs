using System.Text.Json;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>What a file source has made durable, per file: its partition number, the next offset to read (line for
/// CSV and JSON Lines, row for Parquet) and whether it was read to the end; for a followed file also the byte offset to
/// resume from (with the line number there) and the fingerprint of its first bytes.</summary>
internal sealed record CheckpointEntry(int Partition, string Path, long Committed, bool Done,
    long ResumeByte = 0, long ResumeLine = 1, int PrintLength = 0, string? PrintHash = null);

/// <summary>Reads and writes the checkpoint file of a <see cref="FileSource"/>: JSON, replaced atomically (written to a
/// temporary file, forced to disk, renamed over the old one, and the folder synced) so a crash at any moment leaves
/// either the old or the new checkpoint, never a torn one.</summary>
internal static class FileCheckpoint
{
    private const int Version = 1;

    public static List<CheckpointEntry> Load(string path)
    {
        if (!File.Exists(path)) return [];
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != Version)
                throw new BadInputException($"checkpoint version {root.GetProperty("version")} is not {Version}: delete the file to read everything again", path);
            var entries = root.GetProperty("files").EnumerateArray()
                .Select(f => new CheckpointEntry(f.GetProperty("partition").GetInt32(), f.GetProperty("path").GetString()!,
                    f.GetProperty("committed").GetInt64(), f.GetProperty("done").GetBoolean(),
                    f.TryGetProperty("resume_byte", out var b) ? b.GetInt64() : 0, f.TryGetProperty("resume_line", out var l) ? l.GetInt64() : 1,
                    f.TryGetProperty("fingerprint_bytes", out var n) ? n.GetInt32() : 0, f.TryGetProperty("fingerprint", out var h) ? h.GetString() : null))
                .OrderBy(e => e.Partition).ToList();
            for (var i = 0; i < entries.Count; i++)
                if (entries[i].Partition != i)
                    throw new BadInputException($"partitions must be numbered 0..{entries.Count - 1} without gaps, found {entries[i].Partition} at position {i}: delete the file to read everything again", path);
            return entries;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new BadInputException($"not a valid file-source checkpoint ({ex.Message}): delete it to read everything again", path);
        }
    }

    public static void Save(string path, IEnumerable<CheckpointEntry> entries) => DurableFolder.WriteAtomically(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteNumber("version", Version);
        json.WriteStartArray("files");
        foreach (var entry in entries)
        {
            json.WriteStartObject();
            json.WriteNumber("partition", entry.Partition);
            json.WriteString("path", entry.Path);
            json.WriteNumber("committed", entry.Committed);
            json.WriteBoolean("done", entry.Done);
            if (entry.PrintHash is { } print)
            {
                json.WriteNumber("resume_byte", entry.ResumeByte);
                json.WriteNumber("resume_line", entry.ResumeLine);
                json.WriteNumber("fingerprint_bytes", entry.PrintLength);
                json.WriteString("fingerprint", print);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    });
}
