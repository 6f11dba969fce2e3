using System.Text.Json;
using System.Text.RegularExpressions;
using StreamMl.Engine;

namespace StreamMl.Images.Sources;

/// <summary>Image files from a folder tree or a glob, optionally watched for new files and checkpointed (see
/// <see cref="ImageSourceOptions"/>): one row per file with its <c>path</c> and <c>label</c>. Each file's position is its
/// index in the order the source first saw it, kept in the checkpoint, so a restart names the same files by the same
/// positions, skips those committed and reads the others again (the Parquet sink's replay rule then keeps each once).
/// Decoding happens in the <see cref="Serving.ImageClassifierOperator"/>.</summary>
public sealed class ImageFileSource(ImageSourceOptions options) : IBatchSource
{
    private readonly List<(string Path, string? Label)> _files = [];
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _settling = new(StringComparer.Ordinal);
    private string _root = "";
    private Regex? _glob;
    private int _next;
    private long _committed;
    private long _saved = -1;
    private DateTime _nextScan;

    /// <inheritdoc/>
    public string Name => $"images {options.Path}";

    /// <inheritdoc/>
    public Schema Schema { get; } = new(new Field(ImageFolderSource.PathColumn, ColumnType.String, Nullable: false), new Field(ImageFolderSource.LabelColumn, ColumnType.String));

    /// <inheritdoc/>
    public bool PositionsAreStable => true;

    /// <summary>Images seen so far (committed or not).</summary>
    public int Seen => _files.Count;

    /// <summary>Splits a glob into its fixed folder and a pattern for the rest; a plain path is a folder.</summary>
    public static (string Root, Regex? Pattern) ParsePath(string path)
    {
        var wildcard = path.IndexOfAny(['*', '?', '[']);
        if (wildcard < 0) return (System.IO.Path.GetFullPath(path), null);
        var cut = path.LastIndexOfAny(['/', '\\'], wildcard);
        var root = System.IO.Path.GetFullPath(cut < 0 ? "." : path[..Math.Max(1, cut)]);
        var pattern = Regex.Escape(path[(cut + 1)..].Replace('\\', '/'))
            .Replace(@"\*\*/", "(?:.*/)?", StringComparison.Ordinal)
            .Replace(@"\*\*", ".*", StringComparison.Ordinal)
            .Replace(@"\*", "[^/]*", StringComparison.Ordinal)
            .Replace(@"\?", "[^/]", StringComparison.Ordinal);
        return (root, new Regex($"^{pattern}$", RegexOptions.CultureInvariant | (OperatingSystem.IsWindows() ? RegexOptions.IgnoreCase : RegexOptions.None)));
    }

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        (_root, _glob) = ParsePath(options.Path);
        if (!Directory.Exists(_root)) throw new BadInputException("the image folder does not exist", _root);
        if (options.CheckpointPath is { } checkpoint && File.Exists(checkpoint)) Load(checkpoint);
        _next = (int)_committed;
        Scan(settle: false);
        if (_files.Count == 0 && !options.Watch)
            throw new BadInputException($"no image files ({string.Join(", ", ImageFolder.Extensions)}) match", options.Path);
        _nextScan = DateTime.UtcNow + options.WatchInterval;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (_next >= _files.Count)
        {
            if (!options.Watch) return false;
            var wait = _nextScan - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait < TimeSpan.FromMilliseconds(200) ? wait : TimeSpan.FromMilliseconds(200), cancellationToken);
            if (DateTime.UtcNow >= _nextScan)
            {
                Scan(settle: true);
                _nextScan = DateTime.UtcNow + options.WatchInterval;
            }
            if (_next >= _files.Count) return true;
        }
        var paths = batch[ImageFolderSource.PathColumn];
        var labels = batch[ImageFolderSource.LabelColumn];
        var start = _next;
        var rows = Math.Min(batch.Capacity, _files.Count - _next);
        var pathCodes = paths.Values<int>();
        var labelCodes = labels.Values<int>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        for (var row = 0; row < rows; row++)
        {
            var (path, label) = _files[_next++];
            pathCodes[row] = paths.Dictionary!.GetOrAdd(path);
            if (label is null) labels.SetNull(row);
            else labelCodes[row] = labels.Dictionary!.GetOrAdd(label);
            batch.EventTimesBuffer[row] = now;
            batch.RowOffsetsBuffer[row] = start + row;
            batch.RowPartitionsBuffer[row] = 0;
        }
        batch.Length = rows;
        batch.Positions.Add(0, start, _next);
        return options.Watch || _next < _files.Count;
    }

    /// <inheritdoc/>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        foreach (var range in ranges) _committed = Math.Max(_committed, range.End);
        if (options.CheckpointPath is { } checkpoint && _committed != _saved) Save(checkpoint);
    }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) =>
        (ulong)offset < (ulong)_files.Count ? _files[(int)offset].Path : $"{options.Path} image {offset}";

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Adds the images not seen yet, in ordinal path order. With <paramref name="settle"/>, a file is added only
    /// once its size is the same as at the previous listing.</summary>
    private void Scan(bool settle)
    {
        var found = new List<(string Path, string? Label)>();
        foreach (var file in Directory.EnumerateFiles(_root, "*", _glob is null ? new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 }
                     : new EnumerationOptions { RecurseSubdirectories = true }))
        {
            if (_known.Contains(file) || System.IO.Path.GetFileName(file).StartsWith('.')) continue;
            var relative = System.IO.Path.GetRelativePath(_root, file).Replace('\\', '/');
            if (_glob is null ? !ImageFolder.Extensions.Contains(System.IO.Path.GetExtension(file), StringComparer.OrdinalIgnoreCase) : !_glob.IsMatch(relative))
                continue;
            if (settle)
            {
                var length = new FileInfo(file).Length;
                if (!_settling.TryGetValue(file, out var before) || before != length)
                {
                    _settling[file] = length;
                    continue;
                }
                _settling.Remove(file);
            }
            var folder = System.IO.Path.GetDirectoryName(relative);
            found.Add((file, string.IsNullOrEmpty(folder) ? null : System.IO.Path.GetFileName(folder)));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var file in found)
        {
            _known.Add(file.Path);
            _files.Add(file);
        }
        // The order is made durable before any of the new files is read, so a restart gives them the same positions.
        if (found.Count > 0 && options.CheckpointPath is { } checkpoint) Save(checkpoint);
    }

    private sealed record CheckpointFile(int Version, long Committed, List<CheckpointEntry> Files);

    private sealed record CheckpointEntry(string Path, string? Label);

    private void Load(string path)
    {
        CheckpointFile? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointFile>(File.ReadAllBytes(path), s_json);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"the image checkpoint is damaged ({e.Message}); delete it to read every image again", path);
        }
        if (state is null || state.Version != 1 || state.Committed < 0 || state.Committed > state.Files.Count)
            throw new BadInputException("the image checkpoint is not one this version wrote; delete it to read every image again", path);
        foreach (var entry in state.Files)
        {
            _files.Add((entry.Path, entry.Label));
            _known.Add(entry.Path);
        }
        _committed = _saved = state.Committed;
    }

    private void Save(string path)
    {
        var state = new CheckpointFile(1, _committed, [.. _files.Select(f => new CheckpointEntry(f.Path, f.Label))]);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temp = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(path)}.tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, state, s_json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        _saved = _committed;
    }

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
