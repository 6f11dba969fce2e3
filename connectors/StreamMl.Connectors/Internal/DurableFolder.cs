using System.Runtime.InteropServices;

namespace StreamMl.Connectors.Internal;

/// <summary>Makes a rename durable. On Linux and macOS a rename (the atomic publication of a Parquet file, a dead-letter
/// part or a checkpoint) reaches the disk only once its folder is synced; without it a power loss can undo the rename
/// after the positions it covers were committed.</summary>
internal static partial class DurableFolder
{
    /// <summary>Syncs <paramref name="folder"/>'s entries to disk (a no-op on Windows, where NTFS journals the rename).</summary>
    public static void Sync(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open folder {folder} to sync a rename (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (FSync(fd) != 0) throw new IOException($"cannot sync folder {folder} after a rename (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="write"/> writes, so that a crash or power loss
    /// leaves the old file or the new one, never half of one: a temporary file in the same folder, forced to disk,
    /// renamed over the old one, and the folder synced. The folder is created when missing.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            Publish(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp); // only when writing or renaming failed
        }
    }

    /// <summary>Renames <paramref name="temp"/> (already flushed to disk) to <paramref name="path"/> and syncs the folder.</summary>
    public static void Publish(string temp, string path, bool overwrite)
    {
        File.Move(temp, path, overwrite);
        Sync(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
